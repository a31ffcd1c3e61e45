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

// Before load: sizes the range tables to hold `compiled`, with two slots
// (one to publish a changed set into) and room to grow. A table the user
// sized (`user_sized`, from --map-size) keeps its slot count: 1 saves the
// memory of the second slot and of the room, and the rules cannot change
// while the service runs. With `count_hits` (--rule-hits), the filter also
// counts the packets each table entry decides (rule_hits.hpp).
void size_rule_tables(FilterObject &filter, const CompiledRules &compiled, const std::set<std::string> &user_sized,
                      bool count_hits);

// The rule maps of a loaded or running filter, as descriptors it owns or
// borrows (-1: absent).
struct RuleMaps {
    int ipv4 = -1, ipv6 = -1, state = -1, list = -1;
    int hits = -1;  // alf_rule_hits (rule_hits.hpp)
};

// What the tables of `maps` hold: slots, and ranges and rules each can take.
struct RuleCapacity {
    unsigned slots = 0;
    RuleTableLayout ipv4, ipv6;
    std::size_t rules = 0;  // the list's room (0 without a list)
};
RuleCapacity rule_capacity(const RuleMaps &maps);

// Before load, for maps taken over from a running filter: sizes the tables
// (and their layout globals) as the running ones are, so that the program
// is the same; throws Error when `compiled` does not fit them, or when
// `count_hits` is not what the running filter does.
void size_rule_tables_as(FilterObject &filter, const CompiledRules &compiled, const RuleMaps &running,
                         bool count_hits);

// After load: publishes the rule set. `owner_program_fd` is the program the
// sockets carry (this run's, or the running one it keeps), to which the rule
// list is bound (found there, or created). Returns the generation.
std::uint32_t write_rule_tables(FilterObject &filter, const RuleSet &set, const CompiledRules &compiled,
                                int owner_program_fd = -1);

// Publishes a rule set into running tables: written into the slot not in
// use (or, with one slot, the only one, which packets may see half-written),
// made the active one by one aligned store, then recorded in the list.
// Nothing changes when it does not fit (Error, naming the capacity). Returns
// the new generation.
std::uint32_t publish_rules(const RuleMaps &maps, const RuleSet &set, const CompiledRules &compiled);

// The rules in force, from the list. Throws Error when the list does not
// describe the tables in force (a change was interrupted).
RuleSet read_rule_list(const RuleMaps &maps);

// The state in force: active slot, generation and each slot's default.
RulesState read_rules_state(const RuleMaps &maps);

// Serializes changes to one filter's rules among processes (alfctl, a
// restarted alfwrapper): held while alive, released when the process dies.
class RulesLock {
public:
    explicit RulesLock(const RuleMaps &maps);
    ~RulesLock();
    RulesLock(const RulesLock &) = delete;
    RulesLock &operator=(const RulesLock &) = delete;

private:
    int fd_ = -1;
};

// A process that makes one change and exits (alfctl rules) leaves the
// mappings of the rule maps to the kernel's teardown at exit, which unmaps
// them all at once: unmapping each costs a TLB flush of its own, a third of
// a millisecond for a change in a million rules. Not for a process that
// goes on changing rules (it would keep every mapping it ever made).
void leave_rule_mappings_to_exit();

}  // namespace alf
