// The rule compiler: semantics, a property test against a plain reference,
// rules files, and (as root) the kernel's search agreeing with both.
#include "compile/builtin_filters.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "common/net_address.hpp"
#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"
#include "workbench/test_run.hpp"
#include "rule_reference.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <string>
#include <vector>

using namespace alf;

namespace {

// The compiled tables, as the back ends see them.
struct Tables {
    std::vector<std::uint32_t> starts4;
    std::vector<std::uint8_t> verdicts4;
    std::vector<std::uint64_t> starts6;
    std::vector<std::uint8_t> verdicts6;
    CompiledRules compiled;

    explicit Tables(RuleSet &set) : compiled(compile_rules(set)) {
        starts4.resize(compiled.ipv4_ranges);
        verdicts4.resize(compiled.ipv4_ranges);
        starts6.resize(2 * compiled.ipv6_ranges);
        verdicts6.resize(compiled.ipv6_ranges);
        write_ranges4(set, compiled, starts4, verdicts4);
        write_ranges6(set, compiled, starts6, verdicts6);
    }

    // The rule that covers address, then the default: allow or deny.
    Verdict decide(const IpAddress &address) const {
        Verdict v;
        if (address.family == Family::ipv4) {
            v = lookup_ranges4(starts4, verdicts4, word(address, 0));
        } else if (is_mapped(address)) {
            v = lookup_ranges4(starts4, verdicts4, word(address, 12));
        } else {
            v = lookup_ranges6(starts6, verdicts6, std::uint64_t(word(address, 0)) << 32 | word(address, 4),
                               std::uint64_t(word(address, 8)) << 32 | word(address, 12));
        }
        return v == Verdict::none ? compiled.default_verdict : v;
    }

    static std::uint32_t word(const IpAddress &a, int i) {
        return std::uint32_t(a.bytes[i]) << 24 | a.bytes[i + 1] << 16 | a.bytes[i + 2] << 8 | a.bytes[i + 3];
    }
    static bool is_mapped(const IpAddress &a) {
        return a.family == Family::ipv6 && word(a, 0) == 0 && word(a, 4) == 0 && word(a, 8) == 0xffff;
    }
};

}  // namespace

TEST_CASE("rule semantics") {
    SUBCASE("the most specific prefix decides, both ways") {
        RuleSet a = rules_of({{allow, "127.0.0.0/8"}, {deny, "127.0.0.2"}});
        Tables ta(a);
        CHECK(ta.decide(ip("127.0.0.1")) == allow);
        CHECK(ta.decide(ip("127.0.0.2")) == deny);
        CHECK(ta.decide(ip("127.0.0.3")) == allow);
        RuleSet d = rules_of({{deny, "127.0.0.0/8"}, {allow, "127.0.0.2/32"}});
        Tables td(d);
        CHECK(td.decide(ip("127.0.0.1")) == deny);
        CHECK(td.decide(ip("127.0.0.2")) == allow);
    }
    SUBCASE("a tie denies, whatever the order") {
        RuleSet a = rules_of({{allow, "127.0.0.5"}, {deny, "127.0.0.5/32"}, {allow, "127.0.0.5"}});
        Tables t(a);
        CHECK(t.decide(ip("127.0.0.5")) == deny);
        CHECK(t.compiled.report.ties == 1);
        CHECK(t.compiled.report.duplicates == 1);
    }
    SUBCASE("unmatched peers: refused when an allow rule exists, admitted otherwise") {
        RuleSet a = rules_of({{allow, "127.0.0.1"}});
        CHECK(Tables(a).decide(ip("127.0.0.9")) == deny);
        CHECK(Tables(a).decide(ip("::1")) == deny);
        RuleSet d = rules_of({{deny, "127.0.0.2"}});
        CHECK(Tables(d).decide(ip("127.0.0.9")) == allow);
        CHECK(Tables(d).decide(ip("::1")) == allow);
        CHECK(Tables(d).decide(ip("127.0.0.2")) == deny);
    }
    SUBCASE("an allow rule of one family makes the other family's unmatched peers refused") {
        RuleSet a = rules_of({{allow, "2001:db8::/32"}});
        CHECK(Tables(a).decide(ip("10.0.0.1")) == deny);
    }
    SUBCASE("IPv4-mapped IPv6 rules are IPv4 rules; other IPv6 rules leave IPv4 alone") {
        RuleSet m = rules_of({{allow, "::ffff:10.0.0.0/104"}, {deny, "::/0"}});
        Tables t(m);
        CHECK(t.decide(ip("10.1.2.3")) == allow);
        CHECK(t.decide(ip("::ffff:10.1.2.3")) == allow);
        CHECK(t.decide(ip("11.0.0.1")) == deny);  // an allow rule exists
        CHECK(t.decide(ip("2001:db8::1")) == deny);
        CHECK(t.compiled.ipv4_rules == 1);
        RuleSet d = rules_of({{deny, "::/0"}});
        CHECK(Tables(d).decide(ip("10.0.0.1")) == allow);
        CHECK(Tables(d).decide(ip("::1")) == deny);
    }
    SUBCASE("whole spaces and their last addresses") {
        RuleSet a = rules_of({{deny, "0.0.0.0/0"}, {allow, "255.255.255.255"},
                              {deny, "::/0"}, {allow, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}});
        Tables t(a);
        CHECK(t.decide(ip("0.0.0.0")) == deny);
        CHECK(t.decide(ip("255.255.255.254")) == deny);
        CHECK(t.decide(ip("255.255.255.255")) == allow);
        CHECK(t.decide(ip("::")) == deny);
        CHECK(t.decide(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")) == deny);
        CHECK(t.decide(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) == allow);
    }
    SUBCASE("neighbouring rules with one verdict make one range; duplicates and nesting are reported") {
        RuleSet a = rules_of({{allow, "10.0.0.0/25"}, {allow, "10.0.0.128/25"}, {allow, "10.0.0.0/24"},
                              {allow, "10.0.0.0/25"}});
        Tables t(a);
        CHECK(t.compiled.ipv4_ranges == 3);  // none, 10.0.0.0-10.0.0.255 allowed, none
        CHECK(t.starts4 == std::vector<std::uint32_t>{0, 0x0a000000, 0x0a000100});
        CHECK(t.compiled.report.duplicates == 1);
        CHECK(t.compiled.report.nested == 2);
        CHECK(t.compiled.ipv6_ranges == 1);  // no IPv6 rules: the whole space, no rule
        REQUIRE(!t.compiled.report.examples.empty());
        CHECK(t.compiled.report.examples[0].find("10.0.0.0/25") != std::string::npos);
    }
    SUBCASE("host bits are cleared, with a warning") {
        RuleSet a = rules_of({{allow, "127.0.0.1/24"}});
        REQUIRE(a.warnings.size() == 1);
        CHECK(a.warnings[0] == "--allow 127.0.0.1/24: host bits set; using 127.0.0.0/24");
        CHECK(Tables(a).decide(ip("127.0.0.200")) == allow);
    }
}

TEST_CASE("rule compiler against the plain reference, random overlapping rule sets") {
    std::mt19937_64 random(7);
    std::size_t cases = 0;
    for (int round = 0; round < 300; ++round) {
        WrittenRules written = random_rules(random, 1 + random() % 40);
        RuleSet set = written.parsed();
        Reference reference(written);
        Tables tables(set);
        for (int i = 0; i < 400; ++i, ++cases) {
            IpAddress address = random_address(random);
            INFO("address " << format_ip(address) << " round " << round);
            REQUIRE(tables.decide(address) == reference.decide(address));
        }
    }
    CHECK(cases == 120000);
}

TEST_CASE("a large rule set, sorted by buckets rather than std::sort: the same rules in order, equal ones as read, "
          "the same verdicts") {
    std::mt19937_64 random(11);
    WrittenRules written = random_rules(random, 100000);
    RuleSet set = written.parsed();
    std::uint32_t position = 0;
    for (Rule &r : set.rules) r.line = ++position;
    auto prefix = [](const Rule &r) { return std::tuple(!r.is_ipv4(), r.hi, r.lo, r.prefix_len, r.verdict); };
    auto whole = [&](const Rule &r) { return std::tuple(prefix(r), r.line, r.source); };
    std::vector<decltype(whole(Rule{}))> read, compiled;
    for (const Rule &r : set.rules) read.push_back(whole(r));
    Reference reference(written);
    Tables tables(set);
    CHECK(std::is_sorted(set.rules.begin(), set.rules.end(),
                         [&](const Rule &a, const Rule &b) { return whole(a) < whole(b); }));
    for (const Rule &r : set.rules) compiled.push_back(whole(r));
    std::sort(read.begin(), read.end());
    std::sort(compiled.begin(), compiled.end());
    CHECK(read == compiled);
    for (int i = 0; i < 300; ++i) {
        IpAddress address = random_address(random);
        INFO("address " << format_ip(address));
        REQUIRE(tables.decide(address) == reference.decide(address));
    }
}

TEST_CASE("rules files") {
    SUBCASE("comments, blank lines, CRLF, tabs, trailing comments, both families") {
        TempFile file("# office networks\n\nallow 10.0.0.0/8\t# all of it\r\n"
                      "  deny 10.9.0.0/16\n\tallow 2001:db8::/32\nallow ::ffff:192.0.2.0/120");
        RuleSet set = read_rules({}, {}, {file.path()});
        REQUIRE(set.rules.size() == 4);
        CHECK(set.rules[3].line == 6);
        Tables t(set);
        CHECK(t.decide(ip("10.1.1.1")) == allow);
        CHECK(t.decide(ip("10.9.1.1")) == deny);
        CHECK(t.decide(ip("192.0.2.7")) == allow);
        CHECK(t.decide(ip("2001:db8::7")) == allow);
        CHECK(t.decide(ip("2001:db9::7")) == deny);
    }
    SUBCASE("lines across read chunks, and line numbers in errors past them") {
        std::string text;
        for (int i = 0; i < 100000; ++i) text += "allow 10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24\n";
        TempFile good(text);
        RuleSet set = read_rules({}, {}, {good.path()});
        CHECK(set.rules.size() == 100000);
        TempFile bad(text + "allow 10.0.0.0/33\n");
        CHECK(error_of([&] { read_rules({}, {}, {bad.path()}); }) ==
              bad.path() + ":100001: '10.0.0.0/33': prefix length 33 exceeds 32 for an IPv4 address");
    }
    SUBCASE("host bits in a file: one warning, counted") {
        TempFile file("allow 10.0.0.1/8\nallow 10.0.0.2/8\nallow 10.0.0.3/8\n");
        const std::string &path = file.path();
        RuleSet set = read_rules({}, {}, {path});
        REQUIRE(set.warnings.size() == 1);
        CHECK(set.warnings[0] == path + ":1: allow 10.0.0.1/8 has host bits set; using 10.0.0.0/8 (and 2 more lines of " +
                                     path + " with host bits set)");
    }
}

namespace {

// A rules file of `lines`, each with the rule it must give (if any), read
// in blocks by two threads; the file's expected rules come from add_rule.
struct LongRulesFile {
    std::string text;
    std::vector<std::size_t> line_offsets;  // where each line begins
    RuleSet expected;                       // its rules, each with its line
    std::size_t host_bits = 0, first_host_bits_line = 0;

    void add_line(const std::string &line, std::optional<std::pair<Verdict, std::string>> rule = std::nullopt) {
        line_offsets.push_back(text.size());
        text += line;
        if (!rule) return;
        std::size_t warnings = expected.warnings.size();
        add_rule(expected, rule->first, rule->second, static_cast<std::uint32_t>(line_offsets.size()));
        if (expected.warnings.size() > warnings && host_bits++ == 0) first_host_bits_line = line_offsets.size();
    }
    // The number of the line that holds byte `offset`.
    std::size_t line_at(std::size_t offset) const {
        return static_cast<std::size_t>(std::upper_bound(line_offsets.begin(), line_offsets.end(), offset) -
                                        line_offsets.begin());
    }
    // The text with line `number` replaced.
    std::string with_line(std::size_t number, const std::string &line) const {
        std::size_t begin = line_offsets[number - 1], end = text.find('\n', begin);
        return text.substr(0, begin) + line + text.substr(end);
    }
};

// The same file through a pipe: read as it comes, a small piece at a time.
RuleSet read_rules_through_pipe(const std::string &text) {
    int ends[2];
    REQUIRE(pipe(ends) == 0);
    std::thread writer([&] {
        for (std::size_t at = 0; at < text.size();) {
            ssize_t n = write(ends[1], text.data() + at, std::min<std::size_t>(text.size() - at, 4096));
            if (n <= 0) break;
            at += static_cast<std::size_t>(n);
        }
        close(ends[1]);
    });
    RuleSet set;
    std::string error = error_of([&] { set = read_rules({}, {}, {"/dev/fd/" + std::to_string(ends[0])}); });
    writer.join();
    close(ends[0]);
    CHECK(error == "(no error)");
    return set;
}

}  // namespace

TEST_CASE("a long rules file, read in blocks by two threads: the rules, lines and warnings of one reader") {
    LongRulesFile file;
    // 2.7 MB of rules without host bits, so that the first line with host
    // bits lies in the second half of the first block (4 MiB, halved at a
    // line end near 2 MiB); then random rules, many with host bits, in
    // every way a line may be written.
    for (std::size_t i = 0; file.text.size() < 2700000; ++i) {
        std::string cidr = i % 2 ? "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24"
                                 : "2001:db8:" + std::to_string(i % 10000) + "::/48";
        Verdict verdict = i % 3 ? allow : deny;
        std::string line = std::string(verdict == allow ? "allow " : "deny ") + cidr;
        if (i % 1000 == 7) file.add_line("# a comment\n");
        if (i % 1000 == 8) file.add_line("\n");
        file.add_line(i % 500 == 3 ? "\t" + line + "  # why\r\n" : line + "\n", std::pair(verdict, cidr));
    }
    std::mt19937_64 random(5);
    WrittenRules more = random_rules(random, 450000);
    for (std::size_t i = 0; i < more.rules.size(); ++i) {
        const WrittenRule &r = more.rules[i];
        std::string line = std::string(r.verdict == allow ? "allow" : "deny") + (i % 7 ? " " : " \t") + r.cidr;
        file.add_line(i % 11 == 5 ? line + "\r\n" : line + "\n", std::pair(r.verdict, r.cidr));
    }
    file.add_line("allow 192.0.2.0/24", std::pair(allow, std::string("192.0.2.0/24")));  // no line end
    REQUIRE(file.text.size() > 3 * (std::size_t(4) << 20));
    REQUIRE(file.first_host_bits_line > file.line_at(std::size_t(2) << 20));
    REQUIRE(file.first_host_bits_line < file.line_at(std::size_t(4) << 20));

    TempFile temp(file.text, "long.rules");
    const std::string &path = temp.path();
    RuleSet set = read_rules({}, {}, {path});
    auto whole = [](const Rule &r) { return std::tuple(r.hi, r.lo, r.prefix_len, r.verdict, r.line); };
    REQUIRE(set.rules.size() == file.expected.rules.size());
    for (std::size_t i = 0; i < set.rules.size(); ++i) {
        INFO("rule " << i << ", line " << file.expected.rules[i].line);
        REQUIRE(whole(set.rules[i]) == whole(file.expected.rules[i]));
        REQUIRE(set.rules[i].source == 1);
    }
    REQUIRE(set.warnings.size() == 1);
    CHECK(set.warnings[0].starts_with(path + ":" + std::to_string(file.first_host_bits_line) + ": "));
    CHECK(set.warnings[0].find(" has host bits set; using ") != std::string::npos);
    CHECK(set.warnings[0].ends_with(" (and " + std::to_string(file.host_bits - 1) + " more lines of " + path +
                                    " with host bits set)"));

    RuleSet piped = read_rules_through_pipe(file.text);
    REQUIRE(piped.rules.size() == set.rules.size());
    for (std::size_t i = 0; i < set.rules.size(); ++i) REQUIRE(whole(piped.rules[i]) == whole(set.rules[i]));

    SUBCASE("an error in a block's second half names its line; with one in the first half too, that one") {
        std::size_t early = file.line_at(1000000), late = file.line_at(3000000), last = file.line_at(file.text.size() - 1000);
        auto error_in = [&](const std::string &text) {
            TempFile bad(text, "bad.rules");
            std::string error = error_of([&] { read_rules({}, {}, {bad.path()}); });
            return error.substr(error.find(':') + 1);  // without the path
        };
        std::string wrong = "allow 10.0.0.0/33";
        std::string says = ": '10.0.0.0/33': prefix length 33 exceeds 32 for an IPv4 address";
        CHECK(error_in(file.with_line(late, wrong)) == std::to_string(late) + says);
        CHECK(error_in(file.with_line(last, wrong)) == std::to_string(last) + says);
        LongRulesFile twice = file;
        twice.text = file.with_line(late, wrong);
        CHECK(error_in(twice.with_line(early, "allow 10.0.0.0/34")) ==
              std::to_string(early) + ": '10.0.0.0/34': prefix length 34 exceeds 32 for an IPv4 address");
    }
}

TEST_CASE("the kernel's search agrees with the reference (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    std::mt19937_64 random(11);
    for (int round = 0; round < 5; ++round) {
        WrittenRules written = random_rules(random, round == 0 ? 3 : 500 * std::min(round, 3));
        if (round == 4) {
            // Rules that cover the first addresses: the window the index
            // cuts then holds their ends too, and the ranges before it and
            // after it differ (allowed; no rule, so denied).
            written.add(allow, "0.0.0.0/5");
            written.add(allow, "::/5");
        }
        RuleSet set = written.parsed();
        Reference reference(written);
        CompiledRules compiled = compile_rules(set);
        // Both of the headers' searches: the one loaded as root, and the one
        // a delegated alfwrapper (CAP_BPF alone) loads.
        for (bool guarded : {false, true}) {
            auto filter = FilterObject::open(*find_builtin_filter("subnets"), "subnets");
            size_rule_tables(filter, compiled, {}, false);
            filter.assume_stack_stores_guarded(guarded);
            filter.load();
            write_rule_tables(filter, set, compiled);
            for (int i = 0; i < 5000; ++i) {
                IpAddress source = random_address(random);
                IpAddress destination = source.family == Family::ipv4 ? ip("192.0.2.1") : ip("2001:db8::1");
                bool admitted =
                    test_run_filter(filter.program_fd(), synthetic_tcp_syn(source, destination)).verdict != 0;
                INFO("source " << format_ip(source) << " round " << round
                                << std::string(guarded ? " guarded" : ""));
                REQUIRE(admitted == (reference.decide(source) == allow));
            }
        }
    }
}
