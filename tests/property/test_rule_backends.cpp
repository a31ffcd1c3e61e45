// Property test of the rule back ends: for random rule sets (IPv4 and IPv6,
// overlapping, allow and deny mixed, up to the classic limit) and random
// sources, four verdicts agree on every packet:
//   - the plain reference (the semantics written as a loop over the rules),
//   - the eBPF rules filter (the built-in `subnets`, its tables filled by
//     the product code), run by the kernel with BPF_PROG_TEST_RUN,
//   - the classic program, run by the user-space interpreter (what `alfctl
//     test` and the unit tests use),
//   - the classic program, run by the kernel (translated to eBPF as the
//     kernel converts it, then BPF_PROG_TEST_RUN),
//   - the classic program attached by the kernel itself (SO_ATTACH_FILTER on
//     a UDP socket, every program the product says fits, the largest ones
//     at the 4096-instruction limit included), judging real datagrams sent
//     over loopback from sources in 127.0.0.0/8.
// Needs root (loads eBPF). ALF_PROPERTY_SEED=N repeats a run; the seed is
// printed on failure.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "compile/builtin_filters.hpp"
#include "classic/classic_rules.hpp"
#include "classic/classic_to_ebpf.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "rule_reference.hpp"
#include "test_support.hpp"
#include "inputs/rule_tables.hpp"
#include "workbench/test_run.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

using namespace alf;

namespace {

std::optional<ClassicRules> classic_of(RuleSet set) {
    CompiledRules compiled = compile_rules(set);
    try {
        return compile_rules_classic(set, compiled);
    } catch (const Error &) {
        return std::nullopt;
    }
}

WrittenRules first_rules(const WrittenRules &set, std::size_t count) {
    WrittenRules prefix;
    prefix.rules.assign(set.rules.begin(), set.rules.begin() + static_cast<std::ptrdiff_t>(count));
    return prefix;
}

// The largest leading part of `set` whose classic program fits (bisection).
WrittenRules fitting_part(const WrittenRules &set) {
    if (classic_of(set.parsed())) return set;
    std::size_t fits = 1, fails = set.rules.size();
    while (fails - fits > 1) {
        std::size_t mid = (fits + fails) / 2;
        (classic_of(first_rules(set, mid).parsed()) ? fits : fails) = mid;
    }
    return first_rules(set, fits);
}

// A rule set of up to `count` rules: crowded into small corners (much
// nesting), spread over both spaces, or both mixed.
WrittenRules random_rule_set(std::mt19937_64 &random, std::size_t count) {
    switch (random() % 3) {
    case 0: return random_rules(random, count);
    case 1: return random_spread_rules(random, count);
    }
    WrittenRules set = random_rules(random, count / 2);
    set.append(random_spread_rules(random, count - count / 2));
    return set;
}

// Rules inside 127.0.0.0/8, where loopback lets a test send from any source,
// so real datagrams meet both verdicts.
void add_loopback_rules(std::mt19937_64 &random, WrittenRules &set) {
    char text[40];
    for (int i = 0; i < 6; ++i) {
        unsigned len = 9 + random() % 24;
        std::snprintf(text, sizeof text, "127.%u.%u.%u/%u", unsigned(random() % 4), unsigned(random() % 256),
                      unsigned(random() % 256), len);
        set.add(random() % 2 ? Verdict::allow : Verdict::deny, text);
    }
}

UniqueFd udp_socket() {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    return fd;
}

sockaddr_in loopback_address(const IpAddress &address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, address.bytes.data(), 4);
    return sa;
}

// The classic program as the kernel attaches it: SO_ATTACH_FILTER on a UDP
// socket bound to 127.0.0.1, fed datagrams from chosen sources.
class ClassicSocket {
public:
    explicit ClassicSocket(const ClassicProgram &program) : receiver_(udp_socket()) {
        sock_fprog fprog{static_cast<unsigned short>(program.instructions.size()),
                         const_cast<sock_filter *>(program.instructions.data())};
        int attached = setsockopt(receiver_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
        INFO(program.instructions.size() << " instructions: " << std::strerror(errno));
        REQUIRE_MESSAGE(attached == 0, "the kernel refused a classic program the product says fits");
        sockaddr_in self = loopback_address(ip("127.0.0.1"), 0);
        REQUIRE(bind(receiver_.get(), reinterpret_cast<sockaddr *>(&self), sizeof self) == 0);
        socklen_t length = sizeof self;
        REQUIRE(getsockname(receiver_.get(), reinterpret_cast<sockaddr *>(&self), &length) == 0);
        port_ = ntohs(self.sin_port);
    }

    // Sends datagram `number` from `source` (in 127.0.0.0/8); when it is
    // expected, waits for it and checks that it, not an earlier one, came.
    void send_from(const IpAddress &source, std::uint32_t number, bool expected) {
        UniqueFd sender = udp_socket();
        sockaddr_in from = loopback_address(source, 0), to = loopback_address(ip("127.0.0.1"), port_);
        REQUIRE(bind(sender.get(), reinterpret_cast<sockaddr *>(&from), sizeof from) == 0);
        REQUIRE(sendto(sender.get(), &number, sizeof number, 0, reinterpret_cast<sockaddr *>(&to), sizeof to) ==
                sizeof number);
        if (expected) CHECK(next_datagram(2000) == number);
    }

    // After the last datagram: nothing more arrives (a datagram the filter
    // should have dropped would be here by now).
    void check_nothing_more() { CHECK(next_datagram(100) == no_datagram); }

private:
    static constexpr std::uint32_t no_datagram = ~std::uint32_t(0);

    std::uint32_t next_datagram(int timeout_ms) {
        pollfd ready{receiver_.get(), POLLIN, 0};
        if (poll(&ready, 1, timeout_ms) != 1) return no_datagram;
        std::uint32_t number = no_datagram;
        REQUIRE(recv(receiver_.get(), &number, sizeof number, 0) == sizeof number);
        return number;
    }

    UniqueFd receiver_;
    std::uint16_t port_ = 0;
};

IpAddress loopback_source(std::mt19937_64 &random) {
    IpAddress address{Family::ipv4, {}};
    address.bytes[0] = 127;
    address.bytes[1] = static_cast<std::uint8_t>(random() % 4);
    address.bytes[2] = static_cast<std::uint8_t>(random());
    address.bytes[3] = static_cast<std::uint8_t>(random());
    return address;
}

IpAddress anywhere(std::mt19937_64 &random) {
    IpAddress address{random() % 2 ? Family::ipv4 : Family::ipv6, {}};
    for (auto &byte : address.bytes) byte = static_cast<std::uint8_t>(random());
    if (address.family == Family::ipv4) std::fill(address.bytes.begin() + 4, address.bytes.end(), 0);
    return address;
}

std::vector<std::uint8_t> frame_from(const IpAddress &source) {
    return synthetic_tcp_syn(source, source.family == Family::ipv4 ? ip("192.0.2.1") : ip("2001:db8::1"));
}

}  // namespace

TEST_CASE("the classic program, the eBPF rules filter and the reference agree" * root_suite) {
    require_root("needs root (loads eBPF)");
    const char *seed_text = std::getenv("ALF_PROPERTY_SEED");
    std::uint64_t seed = seed_text ? std::strtoull(seed_text, nullptr, 10) : std::random_device{}();
    INFO("ALF_PROPERTY_SEED=" << seed);
    std::mt19937_64 random(seed);
    std::size_t cases = 0, admitted = 0, largest = 0, longest = 0, datagrams = 0, datagrams_admitted = 0;
    for (int round = 0; round < 50; ++round) {
        // A third of the rounds at the classic limit, the others below it.
        std::size_t count = round % 3 == 0 ? 8000 : 1 + random() % (random() % 4 ? 300 : 1500);
        WrittenRules generated;
        add_loopback_rules(random, generated);
        generated.append(random_rule_set(random, count));
        WrittenRules written = fitting_part(generated);
        RuleSet set = written.parsed();
        Reference plain(written);
        largest = std::max(largest, set.rules.size());
        CompiledRules compiled = compile_rules(set);
        ClassicRules classic = compile_rules_classic(set, compiled);
        longest = std::max(longest, classic.program.instructions.size());

        auto subnets = FilterObject::open(*find_builtin_filter("subnets"), "subnets");
        size_rule_tables(subnets, compiled, {}, false);
        subnets.load();
        write_rule_tables(subnets, set, compiled);
        UniqueFd classic_in_kernel = std::move(load_classic_as_ebpf(classic.program.instructions).fd);

        for (int i = 0; i < 2200; ++i, ++cases) {
            IpAddress source = i % 3 == 0 ? edge_address(random, plain)
                               : i % 3 == 1 ? random_address(random)
                                            : anywhere(random);
            auto frame = frame_from(source);
            bool reference = plain.decide(source) == Verdict::allow;
            bool ebpf = test_run_filter(subnets.program_fd(), frame).verdict != 0;
            bool interpreted = test_classic(classic.program, frame) != 0;
            bool in_kernel = test_run_filter(classic_in_kernel.get(), frame).verdict != 0;
            if (ebpf != reference || interpreted != reference || in_kernel != reference) {
                INFO("round " << round << ", " << written.rules.size() << " rules, source " << format_ip(source));
                INFO("reference " << reference << ", eBPF " << ebpf << ", classic interpreted " << interpreted
                                  << ", classic in the kernel " << in_kernel);
                FAIL("verdicts differ");
            }
            admitted += reference;
        }
        ClassicSocket attached(classic.program);
        for (std::uint32_t i = 0; i < 24; ++i, ++datagrams) {
            IpAddress source = loopback_source(random);
            bool reference = plain.decide(source) == Verdict::allow;
            INFO("round " << round << ", datagram from " << format_ip(source) << ", reference " << reference);
            attached.send_from(source, i, reference);
            datagrams_admitted += reference;
        }
        attached.check_nothing_more();
        // Not IPv4 or IPv6 (ARP): every back end drops it.
        auto arp = frame_from(ip("192.0.2.7"));
        arp[12] = 0x08, arp[13] = 0x06;
        CHECK(test_run_filter(subnets.program_fd(), arp).verdict == 0);
        CHECK(test_classic(classic.program, arp) == 0);
        CHECK(test_run_filter(classic_in_kernel.get(), arp).verdict == 0);
    }
    MESSAGE(cases << " cases, " << admitted << " admitted; the largest rule set had " << largest
                  << " rules, the longest classic program " << longest << " instructions; " << datagrams
                  << " datagrams through the attached classic programs, " << datagrams_admitted << " admitted");
    CHECK(longest > classic_max_instructions - 100);
    CHECK(cases >= 100000);
    CHECK(admitted > cases / 10);
    CHECK(admitted < cases - cases / 10);
    CHECK(datagrams_admitted > datagrams / 10);
    CHECK(datagrams_admitted < datagrams - datagrams / 10);
}

TEST_CASE("what fits classic BPF is what the kernel attaches: up to classic_max_instructions, not one more") {
    // Jumps to the next instruction, then "keep": the kernel charges these
    // little memory, so only the count decides.
    auto attach = [](std::size_t count) {
        std::vector<sock_filter> program(count, sock_filter{BPF_JMP | BPF_JA, 0, 0, 0});
        program.back() = sock_filter{BPF_RET | BPF_K, 0, 0, 0xffff};
        sock_fprog fprog{static_cast<unsigned short>(count), program.data()};
        UniqueFd fd = udp_socket();
        errno = 0;
        return setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) == 0 ? 0 : errno;
    };
    CHECK(attach(classic_max_instructions) == 0);
    CHECK(attach(classic_max_instructions + 1) == EINVAL);
}
