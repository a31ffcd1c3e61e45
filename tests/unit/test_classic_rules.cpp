// Rule sets compiled to classic BPF: the rule semantics (defaults, ties,
// IPv4-mapped sources, ::/0) held against the plain reference through the
// user-space interpreter, the size limit, and the kernel's own check, all
// without privileges. (tests/property runs the same programs in the kernel
// next to the eBPF rules filter.)
#include "classic/classic_rules.hpp"
#include "classic/classic_to_ebpf.hpp"
#include "rule_reference.hpp"
#include "workbench/test_run.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace alf;

namespace {

ClassicRules compile(RuleSet set) {
    CompiledRules compiled = compile_rules(set);
    return compile_rules_classic(set, compiled);
}

Verdict classic_decide(const ClassicRules &rules, const IpAddress &source) {
    IpAddress destination = source.family == Family::ipv4 ? ip("192.0.2.1") : ip("2001:db8::1");
    return test_classic(rules.program, synthetic_tcp_syn(source, destination)) != 0 ? allow : deny;
}

}  // namespace

TEST_CASE("classic rules: the semantics of the eBPF rules filter") {
    SUBCASE("most specific wins both ways; a tie denies") {
        auto rules = compile(rules_of({{allow, "127.0.0.0/8"}, {deny, "127.0.0.2"}, {deny, "10.0.0.0/8"},
                                       {allow, "10.1.0.0/16"}, {allow, "10.9.9.9"}, {deny, "10.9.9.9"}}));
        CHECK(classic_decide(rules, ip("127.0.0.1")) == allow);
        CHECK(classic_decide(rules, ip("127.0.0.2")) == deny);
        CHECK(classic_decide(rules, ip("10.0.0.1")) == deny);
        CHECK(classic_decide(rules, ip("10.1.2.3")) == allow);
        CHECK(classic_decide(rules, ip("10.9.9.9")) == deny);
    }
    SUBCASE("no rule covers: refused when any allow rule exists (of either family), admitted otherwise") {
        auto allows = compile(rules_of({{allow, "2001:db8::/32"}}));
        CHECK(classic_decide(allows, ip("10.0.0.1")) == deny);
        CHECK(classic_decide(allows, ip("2001:db9::1")) == deny);
        CHECK(classic_decide(allows, ip("2001:db8::1")) == allow);
        auto denies = compile(rules_of({{deny, "127.0.0.2"}}));
        CHECK(classic_decide(denies, ip("127.0.0.1")) == allow);
        CHECK(classic_decide(denies, ip("::1")) == allow);
        CHECK(classic_decide(denies, ip("127.0.0.2")) == deny);
        CHECK(classic_decide(denies, ip("::ffff:127.0.0.2")) == deny);
    }
    SUBCASE("IPv4-mapped sources and rules are IPv4; ::/0 is for IPv6 peers only") {
        auto rules = compile(rules_of({{allow, "::/0"}, {deny, "::ffff:10.0.0.0/104"}, {allow, "192.0.2.0/24"}}));
        CHECK(classic_decide(rules, ip("2001:db8::1")) == allow);
        CHECK(classic_decide(rules, ip("10.1.2.3")) == deny);
        CHECK(classic_decide(rules, ip("::ffff:10.1.2.3")) == deny);
        CHECK(classic_decide(rules, ip("::ffff:192.0.2.9")) == allow);
        CHECK(classic_decide(rules, ip("172.16.0.1")) == deny);         // ::/0 does not cover it: the default
        CHECK(classic_decide(rules, ip("::ffff:172.16.0.1")) == deny);  // nor its mapped form
        CHECK(classic_decide(rules, ip("::fffe:ac10:1")) == allow);     // next to the mapped space: IPv6
    }
    SUBCASE("the loopback rules of the unprivileged example") {
        auto rules = compile(rules_of({{allow, "127.0.0.1"}, {allow, "::1"}}));
        CHECK(classic_decide(rules, ip("127.0.0.1")) == allow);
        CHECK(classic_decide(rules, ip("::ffff:127.0.0.1")) == allow);
        CHECK(classic_decide(rules, ip("::1")) == allow);
        CHECK(classic_decide(rules, ip("127.0.0.2")) == deny);
        CHECK(classic_decide(rules, ip("::2")) == deny);
        CHECK(classic_decide(rules, ip("::")) == deny);
    }
    SUBCASE("what is not IPv4 or IPv6 is dropped, as are packets cut before the end of the source") {
        auto rules = compile(rules_of({{deny, "10.0.0.0/8"}}));
        auto frame = synthetic_tcp_syn(ip("192.0.2.7"), ip("192.0.2.1"));
        CHECK(test_classic(rules.program, frame) != 0);
        frame[12] = 0x08, frame[13] = 0x06;  // ARP
        CHECK(test_classic(rules.program, frame) == 0);
        auto ipv6 = synthetic_tcp_syn(ip("2001:db8::7"), ip("2001:db8::1"));
        ipv6.resize(14 + 24);
        CHECK(test_classic(rules.program, ipv6) != 0);
        ipv6.resize(14 + 23);  // the eBPF filter reads the whole source at once: so does this
        CHECK(test_classic(rules.program, ipv6) == 0);
        frame.resize(14 + 15);
        frame[12] = 0x08, frame[13] = 0x00;
        CHECK(test_classic(rules.program, frame) == 0);
    }
}

TEST_CASE("classic rules against the plain reference, random rule sets") {
    std::mt19937_64 random(8);
    std::size_t cases = 0;
    for (int round = 0; round < 120; ++round) {
        WrittenRules written =
            round % 2 ? random_rules(random, 1 + random() % 300) : random_spread_rules(random, 1 + random() % 300);
        RuleSet set = written.parsed();
        Reference reference(written);
        auto rules = compile(set);
        CHECK(rules.program.instructions.size() <= classic_max_instructions);
        for (int i = 0; i < 500; ++i, ++cases) {
            IpAddress source = i % 2 ? random_address(random) : edge_address(random, reference);
            INFO("source " << format_ip(source) << " round " << round);
            REQUIRE(classic_decide(rules, source) == reference.decide(source));
        }
    }
    CHECK(cases == 60000);
}

TEST_CASE("classic rules: the size limit") {
    SUBCASE("about 1400 spread rules fit in 4096 instructions") {
        std::mt19937_64 random(3);
        RuleSet set;
        char text[64];
        for (int i = 0; i < 1000; ++i) {
            std::uint64_t r = random();
            std::snprintf(text, sizeof text, i % 2 ? "%u.%u.%u.0/24" : "2001:%x:%x::/48", unsigned(r >> 8) & 255,
                          unsigned(r >> 16) & 255, unsigned(r >> 24) & 255);
            add_rule(set, i % 4 ? allow : deny, text);
        }
        CHECK(compile(set).program.instructions.size() < classic_max_instructions);
    }
    SUBCASE("past the limit: refused, saying how many rules and what else works") {
        RuleSet set;
        for (int i = 0; i < 5000; ++i)
            add_rule(set, allow, "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/25");
        std::string message = error_of([&] { compile(set); });
        CHECK(message.find("rules: 5000 IPv4 and 0 IPv6 rules need more than") == 0);
        CHECK(message.find("the kernel allows 4096") != std::string::npos);
        CHECK(message.find("CAP_BPF") != std::string::npos);
        RuleSet near;  // 4081 segments: the bound lets it through, the program does not fit
        for (int i = 0; i < 2040; ++i)
            add_rule(near, allow, "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/25");
        message = error_of([&] { compile(near); });
        CHECK(message.find("rules: 2040 IPv4 and 0 IPv6 rules: the rules need ") == 0);
    }
}

TEST_CASE("the kernel checks a classic program without privileges") {
    auto rules = compile(rules_of({{allow, "10.0.0.0/8"}, {deny, "2001:db8::/32"}}));
    check_classic(rules.program);
    ClassicProgram broken = rules.program;
    broken.instructions.back() = {BPF_JMP | BPF_JA, 0, 0, 5};  // out of the program
    CHECK(error_of([&] { check_classic(broken); }).find("the kernel refused the program") != std::string::npos);
}

TEST_CASE("the eBPF translation loads, and a refusal says why and what to do" * root_suite) {
    require_root("loading eBPF needs CAP_BPF");
    auto rules = compile(rules_of({{allow, "10.0.0.0/8"}, {deny, "2001:db8::/32"}}));
    TranslatedClassic translated = load_classic_as_ebpf(rules.program.instructions);
    CHECK(translated.fd);
    CHECK(translated.instructions == classic_to_ebpf(rules.program.instructions).size());
    // A load after the last return: the translation ends without an exit, which the verifier refuses.
    std::vector<sock_filter> broken = rules.program.instructions;
    broken.push_back({BPF_LD | BPF_IMM, 0, 0, 1});
    std::string message = error_of([&] { load_classic_as_ebpf(broken); });
    CHECK(message.find("the rules' classic BPF program translated to eBPF (") == 0);
    CHECK(message.find("the kernel refused it: Invalid argument (") != std::string::npos);
    CHECK(message.find("; leave out --classic to load the eBPF rules filter") != std::string::npos);
}
