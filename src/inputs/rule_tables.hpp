// The rule maps of <alfwrapper/rules.h> in a filter: sized for a compiled
// rule set before the filter is loaded, written through mmap after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace alf {

// The C++ side of the layout in <alfwrapper/rules.h>; a unit test compiles
// the header and checks these against its BTF.

// struct alf_rules_state: the active slot, and each slot's default verdict.
struct RulesState {
    std::uint32_t active, generation, default_verdict[2];
};
static_assert(sizeof(RulesState) == 16 && offsetof(RulesState, active) == 0 &&
                  offsetof(RulesState, generation) == 4 && offsetof(RulesState, default_verdict) == 8,
              "layout of struct alf_rules_state");

// struct alf_rules_window: the head of a slot, before the index.
struct RulesWindow {
    std::uint64_t prefix;
    std::uint32_t bits, zero;  // zero: see <alfwrapper/rules.h>
};
static_assert(sizeof(RulesWindow) == 16 && offsetof(RulesWindow, prefix) == 0 && offsetof(RulesWindow, bits) == 8 &&
                  offsetof(RulesWindow, zero) == 12,
              "layout of struct alf_rules_window");

// Bytes of a range's start: IPv4 a 32-bit word, IPv6 two 64-bit halves.
inline constexpr std::size_t rule_start_bytes4 = 4, rule_start_bytes6 = 16;

// One slot of a table, as <alfwrapper/rules.h> computes it from the two
// layout globals: the window, the index, then starts (16-byte aligned), then
// verdicts.
struct RuleTableLayout {
    unsigned index_bits = 1, capacity_bits = 0;
    std::size_t starts_offset = 0, verdicts_offset = 0, slot_bytes = 0;

    std::size_t capacity() const { return std::size_t(1) << capacity_bits; }
    std::size_t buckets() const { return std::size_t(1) << index_bits; }
};

// The layout of a table holding `ranges` ranges with starts of start_bytes.
RuleTableLayout rule_table_layout(std::size_t start_bytes, std::size_t ranges);

class FilterObject;
struct RuleSet;
struct CompiledRules;

// Whether the filter includes <alfwrapper/rules.h> (declares the rule maps).
bool filter_takes_rules(const FilterObject &filter);

// Before load: sizes the range tables to hold `compiled`. A table the user
// sized (`user_sized`, from --map-size) is checked instead: too small is an
// error, larger leaves room to swap in a new rule set later.
void size_rule_tables(FilterObject &filter, const CompiledRules &compiled, const std::set<std::string> &user_sized);

// After load: writes the ranges into the tables (mmap, no copy in between)
// and publishes them, with the default verdict, in slot 0 of the state.
void write_rule_tables(FilterObject &filter, const RuleSet &set, const CompiledRules &compiled);

}  // namespace alf
