// The rule maps of <alfwrapper/rules.h> in a filter: sized for a compiled
// rule set before the filter is loaded, written through mmap after.
#pragma once

#include <set>
#include <string>

namespace alf {

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
