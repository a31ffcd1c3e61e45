// Declarative rules (--allow, --deny, --rules-file): read, check and compile
// into sorted disjoint address ranges, each with a verdict.
//
// The ranges are what the rules filter searches in the kernel (the tables
// alf_rules4/alf_rules6 of <alfwrapper/rules.h>, see rule_tables.hpp) and what a
// classic-BPF compiler can unroll into a binary search: one compiler, any
// back end. Semantics: the most specific matching prefix decides; a tie
// between allow and deny denies; addresses no rule covers get the default,
// deny when any allow rule exists, allow otherwise. IPv4-mapped IPv6 rules
// are IPv4 rules; other IPv6 rules apply to IPv6 peers only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

// Values are the kernel side's ALF_RULE_*.
enum class Verdict : std::uint8_t { none = 0, allow = 1, deny = 2 };

// One rule. Addresses live in one 128-bit space, host order, host bits
// clear; IPv4 prefixes as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n).
struct Rule {
    std::uint64_t hi = 0, lo = 0;
    std::uint32_t line = 0;       // line in its source file, or the option's position
    std::uint8_t prefix_len = 0;  // 0..128
    Verdict verdict = Verdict::allow;
    std::uint8_t source = 0;      // index into RuleSet::sources

    bool is_ipv4() const { return hi == 0 && (lo >> 32) == 0xffff && prefix_len >= 96; }
};
static_assert(sizeof(Rule) == 24, "one rule, one copy: keep it compact");

struct RuleSet {
    std::vector<Rule> rules;
    std::vector<std::string> sources = {"command line"};  // 0: --allow/--deny; then files
    std::vector<std::string> warnings;                    // for the user (host bits set, ...)

    bool empty() const { return rules.empty(); }
};

// Adds "CIDR" (or a bare address: a host) with `verdict`; throws Error
// naming the text. Host bits set are cleared, with a warning.
void add_rule(RuleSet &set, Verdict verdict, std::string_view cidr, std::uint32_t line = 0);

// Adds the rules of a file: lines "allow CIDR" / "deny CIDR", '#' comments,
// blank lines. Read in chunks, so memory holds the rules, not the file.
// Errors name the file and line.
void read_rules_file(RuleSet &set, const std::string &path);

// The rule set from the command line's options.
RuleSet read_rules(const std::vector<std::string> &allow, const std::vector<std::string> &deny,
                   const std::vector<std::string> &files);

// What compiling found, for verbose output.
struct RuleReport {
    std::size_t duplicates = 0;  // same prefix, same verdict
    std::size_t ties = 0;        // same prefix, allow and deny: deny
    std::size_t nested = 0;      // inside a less specific rule
    std::vector<std::string> examples;  // a few of each, with their places
};

struct CompiledRules {
    std::size_t ipv4_rules = 0, ipv6_rules = 0;
    std::size_t ipv4_ranges = 0, ipv6_ranges = 0;  // at least 1: the whole space, no rule
    Verdict default_verdict = Verdict::allow;
    bool rule_edges = false;  // as compile_rules was asked
    RuleReport report;
};

// Sorts the rules in place (IPv4 first) and counts the ranges each family
// compiles to. The set must not change before the ranges are written. A
// range is a maximal run of addresses with one verdict; with `rule_edges`,
// of addresses that one rule decides (or none does), so that a range's hits
// are its rule's (--rule-hits, rule_hits.hpp): adjacent rules of one
// verdict then make ranges of their own.
CompiledRules compile_rules(RuleSet &set, bool rule_edges = false);

// Writes the ranges counted by compile_rules, ascending: where each starts
// (host order; IPv6 as high and low halves, two words a range) and its
// verdict. The spans hold exactly the counted ranges.
void write_ranges4(const RuleSet &set, const CompiledRules &compiled, std::span<std::uint32_t> starts,
                   std::span<std::uint8_t> verdicts);
void write_ranges6(const RuleSet &set, const CompiledRules &compiled, std::span<std::uint64_t> starts,
                   std::span<std::uint8_t> verdicts);

// What the ranges say about one address: the reference the kernel's search
// (and any other back end) must agree with.
Verdict lookup_ranges4(std::span<const std::uint32_t> starts, std::span<const std::uint8_t> verdicts,
                       std::uint32_t address);
Verdict lookup_ranges6(std::span<const std::uint64_t> starts, std::span<const std::uint8_t> verdicts,
                       std::uint64_t hi, std::uint64_t lo);

// "allow" or "deny".
std::string_view verdict_word(Verdict verdict);

// The rule's prefix as CIDR text: "10.0.0.0/8", "2001:db8::/32".
std::string format_rule_prefix(const Rule &rule);

// "allow 10.0.0.0/8" and where it came from ("rules.txt:12", "--allow").
std::string describe_rule(const RuleSet &set, const Rule &rule);

}  // namespace alf
