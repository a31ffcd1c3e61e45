// The source key of <alfwrapper/packet.h> (alf_source_read_skb and alf_source_cut), as
// the ratelimit filter uses it, in the kernel: with a burst of one, each source
// network admits one new flow, so a SYN is admitted exactly when no earlier
// SYN came from its network, the address cut to the prefix. Random prefix
// lengths, addresses that differ in one bit inside or outside the prefix,
// IPv4, IPv6 and IPv4-mapped sources, and both of the headers' codes (as
// root, and as a delegated alfwrapper loads them).
#include "bpf/filter_object.hpp"
#include "common/net_address.hpp"
#include "compile/builtin_filters.hpp"
#include "inputs/map_entries.hpp"
#include "workbench/test_run.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <utility>

using namespace alf;

namespace {

// The network of `a` (IPv4-mapped as IPv4) at the prefix of its family.
std::pair<Family, std::string> network(IpAddress a, unsigned prefix4, unsigned prefix6) {
    if (a.family == Family::ipv6 && a.bytes[10] == 0xff && a.bytes[11] == 0xff &&
        std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](std::uint8_t b) { return b == 0; })) {
        IpAddress v4;
        std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
        a = v4;
    }
    unsigned prefix = a.family == Family::ipv4 ? prefix4 : prefix6;
    for (unsigned i = prefix; i < a.max_prefix(); ++i) a.bytes[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
    return {a.family, format_ip(a)};
}

}  // namespace

TEST_CASE("the ratelimit filter keys each source by its network, every prefix length (needs root)" * root_suite) {
    require_root("loading the ratelimit filter needs root (CAP_BPF)");
    std::mt19937_64 random(5);
    int admitted_count = 0, dropped_count = 0;
    for (auto prefixes : {std::pair{1u, 1u}, {8u, 33u}, {24u, 64u}, {31u, 100u}, {32u, 128u}}) {
        unsigned prefix4 = prefixes.first, prefix6 = prefixes.second;  // (clang 14: no lambda capture of a binding)
        for (bool guarded : {false, true}) {
            auto filter = FilterObject::open(*find_builtin_filter("ratelimit"), "ratelimit");
            std::string config = R"({"rate": 1, "period_ms": 600000, "burst": 1, "prefix4": )" +
                                 std::to_string(prefix4) + R"(, "prefix6": )" + std::to_string(prefix6) + "}";
            auto encoded = encode_map_settings(filter, {{"config", "0", config, true, "test"}}, {});
            filter.assume_stack_stores_guarded(guarded);
            filter.load();
            write_map_entries(filter, encoded);

            std::set<std::pair<Family, std::string>> used;
            auto send = [&](const IpAddress &source) {
                bool expected = used.insert(network(source, prefix4, prefix6)).second;
                IpAddress destination = source.family == Family::ipv4 ? *parse_ip("192.0.2.1") : *parse_ip("2001:db8::1");
                bool admitted =
                    test_run_filter(filter.program_fd(), synthetic_tcp_syn(source, destination)).verdict != 0;
                INFO("source " << format_ip(source) << " /" << prefix4 << " /" << prefix6
                               << std::string(guarded ? " (guarded)" : ""));
                REQUIRE(admitted == expected);
                (admitted ? admitted_count : dropped_count)++;
            };
            for (int trial = 0; trial < 120; ++trial) {
                Family family = trial % 3 == 0 ? Family::ipv4 : Family::ipv6;
                IpAddress first = random_ip(random, family);
                if (trial % 3 == 1) {  // IPv4-mapped: judged as the IPv4 address
                    std::fill(first.bytes.begin(), first.bytes.begin() + 10, 0);
                    first.bytes[10] = first.bytes[11] = 0xff;
                }
                send(first);
                IpAddress second = first;
                unsigned from = trial % 3 == 1 ? 96 : 0;  // a bit of the IPv4 address when mapped
                unsigned bit = from + static_cast<unsigned>(random() % (first.max_prefix() - from));
                second.bytes[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
                send(second);
            }
        }
    }
    // Both outcomes occur, many times.
    CHECK(admitted_count > 200);
    CHECK(dropped_count > 200);
}
