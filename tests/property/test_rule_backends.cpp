// Property test of the rule back ends: for random rule sets (IPv4 and IPv6,
// overlapping, allow and deny mixed, up to the classic limit) and random
// sources, four verdicts agree on every packet:
//   - the plain reference (the semantics written as a loop over the rules),
//   - the eBPF rules filter (the built-in `subnets`, its tables filled by
//     the product code), run by the kernel with BPF_PROG_TEST_RUN,
//   - the classic program, run by the user-space interpreter (what `alfctl
//     test` and the unit tests use),
//   - the classic program, run by the kernel (translated to eBPF as the
//     kernel converts it, then BPF_PROG_TEST_RUN).
// Needs root (loads eBPF). ALF_PROPERTY_SEED=N repeats a run; the seed is
// printed on failure.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "compile/builtin_filters.hpp"
#include "classic/classic_rules.hpp"
#include "classic_to_ebpf.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "rule_reference.hpp"
#include "test_support.hpp"
#include "inputs/rule_tables.hpp"
#include "workbench/test_run.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
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

RuleSet first_rules(const RuleSet &set, std::size_t count) {
    RuleSet prefix;
    prefix.rules.assign(set.rules.begin(), set.rules.begin() + static_cast<std::ptrdiff_t>(count));
    return prefix;
}

// The largest leading part of `set` whose classic program fits (bisection).
RuleSet fitting_part(const RuleSet &set) {
    if (classic_of(set)) return set;
    std::size_t fits = 1, fails = set.rules.size();
    while (fails - fits > 1) {
        std::size_t mid = (fits + fails) / 2;
        (classic_of(first_rules(set, mid)) ? fits : fails) = mid;
    }
    return first_rules(set, fits);
}

// A rule set of up to `count` rules: crowded into small corners (much
// nesting), spread over both spaces, or both mixed.
RuleSet random_rule_set(std::mt19937_64 &random, std::size_t count) {
    switch (random() % 3) {
    case 0: return random_rules(random, count);
    case 1: return random_spread_rules(random, count);
    }
    RuleSet set = random_rules(random, count / 2);
    RuleSet spread = random_spread_rules(random, count - count / 2);
    set.rules.insert(set.rules.end(), spread.rules.begin(), spread.rules.end());
    return set;
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

TEST_CASE("the classic program, the eBPF rules filter and the reference agree") {
    if (!require(geteuid() == 0, "needs root (loads eBPF)")) return;
    const char *seed_text = std::getenv("ALF_PROPERTY_SEED");
    std::uint64_t seed = seed_text ? std::strtoull(seed_text, nullptr, 10) : std::random_device{}();
    INFO("ALF_PROPERTY_SEED=" << seed);
    std::mt19937_64 random(seed);
    std::size_t cases = 0, admitted = 0, largest = 0, longest = 0;
    for (int round = 0; round < 50; ++round) {
        // A third of the rounds at the classic limit, the others below it.
        std::size_t count = round % 3 == 0 ? 8000 : 1 + random() % (random() % 4 ? 300 : 1500);
        RuleSet set = fitting_part(random_rule_set(random, count));
        largest = std::max(largest, set.rules.size());
        RuleSet original = set;
        CompiledRules compiled = compile_rules(set);
        ClassicRules classic = compile_rules_classic(set, compiled);
        longest = std::max(longest, classic.program.instructions.size());

        auto subnets = FilterObject::open(*find_builtin_filter("subnets"), "subnets");
        size_rule_tables(subnets, compiled, {});
        subnets.load();
        write_rule_tables(subnets, set, compiled);
        UniqueFd classic_in_kernel = load_classic_as_ebpf(classic.program.instructions);

        for (int i = 0; i < 2200; ++i, ++cases) {
            IpAddress source = i % 3 == 0 ? edge_address(random, original)
                               : i % 3 == 1 ? random_address(random)
                                            : anywhere(random);
            auto frame = frame_from(source);
            bool reference = reference_decide(original, source) == Verdict::allow;
            bool ebpf = test_run_filter(subnets.program_fd(), frame).verdict != 0;
            bool interpreted = test_classic(classic.program, frame) != 0;
            bool in_kernel = test_run_filter(classic_in_kernel.get(), frame).verdict != 0;
            if (ebpf != reference || interpreted != reference || in_kernel != reference) {
                INFO("round " << round << ", " << original.rules.size() << " rules, source " << format_ip(source));
                INFO("reference " << reference << ", eBPF " << ebpf << ", classic interpreted " << interpreted
                                  << ", classic in the kernel " << in_kernel);
                FAIL("verdicts differ");
            }
            admitted += reference;
        }
        // Not IPv4 or IPv6 (ARP): every back end drops it.
        auto arp = frame_from(ip("192.0.2.7"));
        arp[12] = 0x08, arp[13] = 0x06;
        CHECK(test_run_filter(subnets.program_fd(), arp).verdict == 0);
        CHECK(test_classic(classic.program, arp) == 0);
        CHECK(test_run_filter(classic_in_kernel.get(), arp).verdict == 0);
    }
    MESSAGE(cases << " cases, " << admitted << " admitted; the largest rule set had " << largest
                  << " rules, the longest classic program " << longest << " instructions");
    CHECK(longest > classic_max_instructions - 100);
    CHECK(cases >= 100000);
    CHECK(admitted > cases / 10);
    CHECK(admitted < cases - cases / 10);
}
