// Hits per rule (alfwrapper --rule-hits, alfctl stats --rules): the filter
// counts, per CPU, the table entry each search ends on (alf_rule_hits of
// <alfwrapper/rules.h>); here the rows are summed and each entry's hits go
// to the rule that decides its range.
//
// The counters belong to entry positions, shared by both slots: a change
// made in place leaves the entries it does not rewrite where they were, and
// zeroes those it rewrites; a set published whole zeroes them all. So a
// rule's hits are the packets it decided since its stretch of the table was
// last written.
#pragma once

#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace alf {

inline constexpr const char *rule_hits_map = "alf_rule_hits";

class FilterObject;

// Before load: sizes alf_rule_hits for tables of these layouts and turns
// the counting on, or leaves it off (one unused value). Throws Error when
// counting is asked of a filter whose object has no alf_rule_hits.
void size_rule_hits(FilterObject &filter, const RuleTableLayout &ipv4, const RuleTableLayout &ipv6, bool count);

// Whether the filter whose alf_rule_hits is `hits_fd` counts (-1: no map).
bool counts_rule_hits(int hits_fd);

// Zeroes every counter (a set published whole), or those of entries
// [first, end) of one family's table (a stretch rewritten in place). No-ops
// for a filter that does not count.
void clear_rule_hits(const RuleMaps &maps);
void clear_rule_hits(const RuleMaps &maps, const RuleCapacity &capacity, bool ipv6, std::size_t first,
                     std::size_t end);

// An entry's hits, at the 128-bit start of its range (IPv4 as IPv4-mapped).
struct EntryHits {
    std::uint64_t hi = 0, lo = 0;
    std::uint64_t packets = 0;
};

// What a rule decided; rule -1: no rule covers the range (the default).
struct RuleHits {
    std::ptrdiff_t rule = -1;  // index into the rule set
    std::uint64_t packets = 0;
};

// Attributes one family's entries (ipv6: the IPv6 table's) to the rules of
// `sorted` (as compile_rules leaves them) that decide their ranges: the most
// specific rule holding the start, deny over allow on a tie. Entries in any
// order; the result has one element for each rule (or the default) that got
// hits, in no particular order.
std::vector<RuleHits> hits_by_rule(const RuleSet &sorted, bool ipv6, std::vector<EntryHits> entries);

// The hits of the rules in force (`sorted`: the list read and compiled),
// summed over the CPUs and both families, most first. Throws Error when the
// filter does not count them.
std::vector<RuleHits> read_rule_hits(const RuleMaps &maps, const RuleSet &sorted);

}  // namespace alf
