#include "inputs/rule_hits.hpp"

#include "bpf/filter_object.hpp"
#include "common/error.hpp"
#include "inputs/rule_list.hpp"
#include "inputs/rule_table_memory.hpp"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace alf {

namespace {

constexpr const char *count_variable = "alf_rules_count_hits";

__extension__ typedef unsigned __int128 u128;

u128 start_of(const Rule &rule) { return (u128(rule.hi) << 64) | rule.lo; }
u128 last_of(const Rule &rule) {
    RuleRecord last = prefix_last(rule_record(rule));
    return (u128(last.hi) << 64) | last.lo;
}

// Counters of one CPU's row: the IPv4 table's entries, then the IPv6 one's.
std::size_t row_entries(const RuleCapacity &capacity) { return capacity.ipv4.capacity() + capacity.ipv6.capacity(); }

}  // namespace

void size_rule_hits(FilterObject &filter, const RuleTableLayout &ipv4, const RuleTableLayout &ipv6, bool count) {
    bpf_map *map = filter.map_if_declared(rule_hits_map);
    bool declared = map && filter.global_value(count_variable).size() == sizeof(std::uint32_t);
    if (!declared) {
        if (count)
            throw Error("--rule-hits: filter " + filter.name() + " has no " + rule_hits_map +
                        " (its object was compiled with an older <alfwrapper/rules.h>); compile it again");
        return;
    }
    std::uint64_t entries = 1;
    if (count) {
        int cpus = libbpf_num_possible_cpus();
        if (cpus <= 0) throw system_error("--rule-hits: cannot count the CPUs", -cpus);
        entries = std::uint64_t(cpus) * (ipv4.capacity() + ipv6.capacity());
        if (entries > std::numeric_limits<std::uint32_t>::max() / 8)
            throw Error("--rule-hits: counting " + std::to_string(ipv4.capacity() + ipv6.capacity()) +
                        " table entries on " + std::to_string(cpus) + " CPUs takes more than 4 GiB; leave it out "
                        "for this many rules");
    }
    filter.set_map_size(rule_hits_map, static_cast<std::uint32_t>(entries));
    std::uint32_t on = count ? 1 : 0;
    std::uint8_t bytes[sizeof on];
    std::memcpy(bytes, &on, sizeof on);
    filter.set_global_value(count_variable, bytes);
}

bool counts_rule_hits(int hits_fd) { return hits_fd >= 0 && array_geometry(hits_fd, rule_hits_map).max_entries > 1; }

void clear_rule_hits(const RuleMaps &maps) {
    if (!counts_rule_hits(maps.hits)) return;
    MappedArray hits(maps.hits, rule_hits_map);
    std::memset(hits.bytes(), 0, hits.size());
}

void clear_rule_hits(const RuleMaps &maps, const RuleCapacity &capacity, bool ipv6, std::size_t first,
                     std::size_t end) {
    if (!counts_rule_hits(maps.hits) || first >= end) return;
    std::size_t row = row_entries(capacity), offset = ipv6 ? capacity.ipv4.capacity() : 0;
    MappedArray hits(maps.hits, rule_hits_map, true);
    std::size_t rows = array_geometry(maps.hits, rule_hits_map).max_entries / row;
    for (std::size_t cpu = 0; cpu < rows; ++cpu) {
        std::size_t at = (cpu * row + offset + first) * sizeof(std::uint64_t);
        std::memset(hits.at<std::uint64_t>(at, end - first), 0, (end - first) * sizeof(std::uint64_t));
    }
}

std::vector<RuleHits> hits_by_rule(const RuleSet &sorted, bool ipv6, std::vector<EntryHits> entries) {
    std::sort(entries.begin(), entries.end(), [](const EntryHits &a, const EntryHits &b) {
        return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
    });
    // One sweep over the entries and the family's rules, both ascending:
    // the stack holds the rules that hold the current address, each inside
    // the one below it (prefixes nest or are apart), so its top decides. A
    // rule's own start comes before those of the rules inside it; of rules
    // of one prefix (a tie, duplicates) the stack keeps one, a deny if any.
    const std::vector<Rule> &rules = sorted.rules;
    std::vector<std::ptrdiff_t> stack;
    std::unordered_map<std::ptrdiff_t, std::uint64_t> sums;
    // compile_rules puts the IPv4 rules first.
    auto ipv6_begin = std::partition_point(rules.begin(), rules.end(), [](const Rule &r) { return r.is_ipv4(); });
    std::size_t next = ipv6 ? static_cast<std::size_t>(ipv6_begin - rules.begin()) : 0;
    std::size_t end = ipv6 ? rules.size() : static_cast<std::size_t>(ipv6_begin - rules.begin());
    auto holds = [&](std::ptrdiff_t r, u128 address) {
        const Rule &rule = rules[static_cast<std::size_t>(r)];
        return start_of(rule) <= address && address <= last_of(rule);
    };
    for (const EntryHits &entry : entries) {
        u128 address = (u128(entry.hi) << 64) | entry.lo;
        for (; next < end && start_of(rules[next]) <= address; ++next) {
            const Rule &rule = rules[next];
            while (!stack.empty() && !holds(stack.back(), start_of(rule))) stack.pop_back();
            if (!stack.empty()) {
                const Rule &top = rules[static_cast<std::size_t>(stack.back())];
                if (top.hi == rule.hi && top.lo == rule.lo && top.prefix_len == rule.prefix_len) {
                    if (rule.verdict == Verdict::deny && top.verdict != Verdict::deny)
                        stack.back() = static_cast<std::ptrdiff_t>(next);
                    continue;
                }
            }
            stack.push_back(static_cast<std::ptrdiff_t>(next));
        }
        while (!stack.empty() && !holds(stack.back(), address)) stack.pop_back();
        if (entry.packets) sums[stack.empty() ? -1 : stack.back()] += entry.packets;
    }
    std::vector<RuleHits> result;
    for (const auto &[rule, packets] : sums) result.push_back({rule, packets});
    return result;
}

std::vector<RuleHits> read_rule_hits(const RuleMaps &maps, const RuleSet &sorted) {
    if (!counts_rule_hits(maps.hits))
        throw Error("its filter counts no hits per rule; start it with alfwrapper --rule-hits");
    RuleCapacity capacity = rule_capacity(maps);
    std::uint32_t slot = read_rules_state(maps).active & 1;
    std::size_t row = row_entries(capacity);
    MappedArray hits(maps.hits, rule_hits_map);
    std::size_t rows = array_geometry(maps.hits, rule_hits_map).max_entries / row;
    const auto *counters = reinterpret_cast<const std::uint64_t *>(hits.bytes());

    std::unordered_map<std::ptrdiff_t, std::uint64_t> sums;
    auto family = [&](bool ipv6, int map_fd, const RuleTableLayout &layout, std::size_t offset) {
        MappedArray table(map_fd, ipv6 ? "alf_rules6" : "alf_rules4", true);
        std::size_t starts = slot * layout.slot_bytes + layout.starts_offset;
        std::vector<EntryHits> entries;
        for (std::size_t i = 0; i < layout.capacity(); ++i) {
            std::uint64_t packets = 0;
            for (std::size_t cpu = 0; cpu < rows; ++cpu) packets += counters[cpu * row + offset + i];
            if (packets == 0) continue;
            EntryHits entry{.packets = packets};
            if (ipv6) {
                const auto *start = table.at<std::uint64_t>(starts + i * rule_start_bytes6, 2);
                entry.hi = start[0];
                entry.lo = start[1];
            } else {
                entry.lo = 0xffff00000000ull | *table.at<std::uint32_t>(starts + i * rule_start_bytes4);
            }
            entries.push_back(entry);
        }
        for (const RuleHits &h : hits_by_rule(sorted, ipv6, std::move(entries))) sums[h.rule] += h.packets;
    };
    family(false, maps.ipv4, capacity.ipv4, 0);
    family(true, maps.ipv6, capacity.ipv6, capacity.ipv4.capacity());
    std::vector<RuleHits> result;
    for (const auto &[rule, packets] : sums) result.push_back({rule, packets});
    std::sort(result.begin(), result.end(), [](const RuleHits &a, const RuleHits &b) {
        return a.packets != b.packets ? a.packets > b.packets : a.rule < b.rule;
    });
    return result;
}

}  // namespace alf
