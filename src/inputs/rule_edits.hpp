// Rules added, changed or removed in a running filter's tables in place:
// the work of `alfctl rules NAME allow|deny|remove CIDR...` in time that does
// not grow with the rule set.
//
// A prefix P changes only the addresses inside it, and what they get follows
// from three things the rule list finds by binary search: the most specific
// rule enclosing P, P's own rules, and the rules inside P. The ranges for P's
// addresses are compiled from those alone and written over P's stretch of
// the spare slot, borrowing room from the copies that the tables keep spread
// among their ranges (rule_tables.cpp), so a change touches a few pages of
// the tables and of the list. The spare is then published by one store, as
// a whole set is; after a grace period (no packet reads the old slot any
// more) the same rewrites bring the old slot level, so that both slots hold
// the set and the next change starts from either.
#pragma once

#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"

#include <cstdint>
#include <span>

namespace alf {

struct RuleEditOutcome {
    std::uint32_t generation = 0;
    std::size_t rules = 0;  // in force after the change
    bool in_place = false;  // false: the set was published whole (a change reached too far)
};

// Applies `given` (parsed prefixes) to the running rules: with `remove`,
// their rules are taken out (Error, nothing changed, when one is not there);
// otherwise each replaces the rules of its prefix. In place where it can;
// a change that reaches too far, or a list an older alfwrapper wrote, is
// published whole. Call with the rules lock held, on tables of two slots.
RuleEditOutcome edit_rules(const RuleMaps &maps, std::span<const Rule> given, bool remove);

// `running` with the same change, for publishing it whole.
RuleSet rules_with_changes(RuleSet running, std::span<const Rule> given, bool remove);

}  // namespace alf
