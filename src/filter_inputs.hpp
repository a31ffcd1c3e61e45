// Everything the command line puts into a filter's maps: sizes (--map-size),
// entries (--set, --set-file) and rules (--allow, --deny, --rules-file).
// Read and checked before the filter is loaded, so bad input fails before
// anything reaches the kernel; written after.
#pragma once

#include "map_entries.hpp"
#include "rules.hpp"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace alf {

class FilterObject;
struct Options;

using InfoFn = std::function<void(const std::string &)>;

// The rules of the command line, compiled; timings and findings go to info,
// warnings (host bits set) to warn.
struct CompiledRuleSet {
    RuleSet rules;
    CompiledRules compiled;
};
CompiledRuleSet read_and_compile_rules(const Options &options, const InfoFn &info, const InfoFn &warn);

// The built-in subnets filter without rules would judge nothing: throws
// Error asking for them (unless only the maps are listed).
void require_rules_for_subnets(const Options &options, const CompiledRuleSet &rules, bool builtin);

class FilterInputs {
public:
    // Before load: sizes the maps, sizes the rule tables, encodes the entries.
    static FilterInputs prepare(FilterObject &filter, const Options &options, CompiledRuleSet rules,
                                const InfoFn &info);

    // Gives an opened object the sizes prepare() settled on (for an object
    // compiled anew before load: the fast optimizer's program was rejected).
    void apply_sizes(FilterObject &filter) const;

    // After load: writes the rule tables and the entries.
    void write(FilterObject &filter, const InfoFn &info) const;

private:
    CompiledRuleSet rules_;
    bool takes_rules_ = false;
    std::set<std::string> user_sized_;
    std::vector<std::pair<std::string, std::uint32_t>> map_entries_max_;
    std::vector<EncodedMap> entries_;
};

}  // namespace alf
