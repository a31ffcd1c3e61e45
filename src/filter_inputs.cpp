#include "filter_inputs.hpp"

#include "cli.hpp"
#include "error.hpp"
#include "loader.hpp"
#include "map_file.hpp"
#include "rule_tables.hpp"

#include <chrono>
#include <cstdio>

namespace alf {

namespace {

std::string ms_since(std::chrono::steady_clock::time_point start) {
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms", ms);
    return text;
}

}  // namespace

CompiledRuleSet read_and_compile_rules(const Options &options, const InfoFn &info, const InfoFn &warn) {
    auto start = std::chrono::steady_clock::now();
    CompiledRuleSet set{read_rules(options.allow, options.deny, options.rules_files), {}};
    std::string read_time = ms_since(start);
    start = std::chrono::steady_clock::now();
    set.compiled = compile_rules(set.rules);
    for (const auto &warning : set.rules.warnings) warn(warning);
    if (set.rules.empty()) return set;
    const CompiledRules &c = set.compiled;
    info("rules: " + std::to_string(c.ipv4_rules) + " IPv4, " + std::to_string(c.ipv6_rules) + " IPv6, read in " +
         read_time + "; compiled to " + std::to_string(c.ipv4_ranges) + " + " + std::to_string(c.ipv6_ranges) +
         " address ranges in " + ms_since(start) + "; peers no rule covers: " +
         (c.default_verdict == Verdict::allow ? "admitted" : "refused"));
    const RuleReport &r = c.report;
    if (r.duplicates + r.ties + r.nested)
        info("rules: " + std::to_string(r.duplicates) + " duplicate, " + std::to_string(r.ties) +
             " tied (deny wins), " + std::to_string(r.nested) + " inside a less specific rule");
    for (const auto &example : r.examples) info("  " + example);
    return set;
}

void require_rules_for_subnets(const Options &options, const CompiledRuleSet &rules, bool builtin) {
    if (rules.rules.empty() && builtin && options.filter == "subnets" && !options.list_maps)
        throw Error("filter subnets needs rules: give --allow CIDR, --deny CIDR or --rules-file PATH");
}

FilterInputs FilterInputs::prepare(FilterObject &filter, const Options &options, CompiledRuleSet rules,
                                   const InfoFn &info) {
    FilterInputs inputs;
    std::set<std::string> user_sized = apply_map_sizes(filter, options.map_sizes);
    inputs.user_sized_ = user_sized;
    inputs.takes_rules_ = filter_takes_rules(filter);
    if (!rules.rules.empty() && !inputs.takes_rules_)
        throw Error("filter " + options.filter + " does not take --allow/--deny/--rules-file rules: include "
                    "<alfwrapper/rules.h> in it and call alf_rules_decide(), or leave out the filter to use the "
                    "built-in 'subnets'");
    if (inputs.takes_rules_) size_rule_tables(filter, rules.compiled, user_sized);
    inputs.rules_ = std::move(rules);

    // In this order, so that a later entry for the same key wins: the config
    // file's, then the files', then each --set.
    std::vector<MapSetting> settings = options.map_entries;
    for (const auto &spec : options.set_files)
        for (auto &setting : read_map_file(spec)) settings.push_back(std::move(setting));
    for (const auto &spec : options.sets) settings.push_back(parse_map_setting(spec));
    inputs.entries_ = encode_map_settings(filter, settings, user_sized);
    for (const auto &map : inputs.entries_)
        if (!map.note.empty()) info(map.note);
    // Every size as it now stands (--map-size, rule tables, maps raised to
    // fit their entries), for an object compiled anew before load.
    for (const auto &map : filter.maps()) inputs.map_entries_max_.emplace_back(map.name, map.max_entries);
    return inputs;
}

void FilterInputs::apply_sizes(FilterObject &filter) const {
    if (takes_rules_) size_rule_tables(filter, rules_.compiled, user_sized_);
    for (const auto &[map, entries] : map_entries_max_) filter.set_map_size(map, entries);
}

void FilterInputs::write(FilterObject &filter, const InfoFn &info) const {
    if (takes_rules_) {
        auto start = std::chrono::steady_clock::now();
        write_rule_tables(filter, rules_.rules, rules_.compiled);
        info("rules: tables written in " + ms_since(start));
    }
    write_map_entries(filter, entries_);
    for (const auto &map : entries_) info("map " + map.name + ": " + std::to_string(map.keys.size()) + " entries set");
}

}  // namespace alf
