#include "inputs/filter_inputs.hpp"

#include "common/error.hpp"
#include "common/net_address.hpp"
#include "common/util.hpp"
#include "bpf/filter_object.hpp"
#include "inputs/map_file.hpp"
#include "inputs/rule_tables.hpp"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>


namespace alf {

CompiledRuleSet read_and_compile_rules(const InputSettings &settings, const Reporter &report) {
    Stopwatch reading;
    CompiledRuleSet set{read_rules(settings.allow, settings.deny, settings.rules_files), {}};
    std::string read_time = reading.text();
    Stopwatch compiling;
    set.compiled = compile_rules(set.rules, settings.rule_hits);
    for (const auto &warning : set.rules.warnings) report.warning(warning);
    if (set.rules.empty()) return set;
    const CompiledRules &c = set.compiled;
    report.info("rules: " + std::to_string(c.ipv4_rules) + " IPv4, " + std::to_string(c.ipv6_rules) + " IPv6, read in " +
         read_time + "; compiled to " + std::to_string(c.ipv4_ranges) + " + " + std::to_string(c.ipv6_ranges) +
         " address ranges in " + compiling.text() + "; peers no rule covers: " +
         (c.default_verdict == Verdict::allow ? "admitted" : "refused"));
    const RuleReport &r = c.report;
    if (r.duplicates + r.ties + r.nested)
        report.info("rules: " + std::to_string(r.duplicates) + " duplicate, " + std::to_string(r.ties) +
             " tied (deny wins), " + std::to_string(r.nested) + " inside a less specific rule");
    for (const auto &example : r.examples) report.info("  " + example);
    return set;
}

namespace {

constexpr const char *log_rate_variable = "alf_log_rate_per_cpu";
constexpr std::uint64_t default_log_rate = 100, max_log_rate = 1000000;

}  // namespace

void set_log_rate(FilterObject &filter, const std::string &filter_name, const std::string &text) {
    std::vector<std::uint8_t> current = filter.global_value(log_rate_variable);
    if (current.size() != sizeof(std::uint32_t)) {
        if (!text.empty())
            throw Error("--log-rate " + quote_input(text) + ": filter " + filter_name + " keeps no drop log; a filter "
                        "logs by returning its verdicts through alf_verdict() of <alfwrapper/stats.h>");
        return;
    }
    std::uint64_t rate = text.empty() ? default_log_rate : parse_unsigned(text, max_log_rate, "--log-rate");
    int cpus = libbpf_num_possible_cpus();
    std::uint32_t per_cpu = rate == 0 ? 0 : static_cast<std::uint32_t>((rate + cpus - 1) / std::max(cpus, 1));
    std::uint8_t bytes[sizeof per_cpu];
    std::memcpy(bytes, &per_cpu, sizeof per_cpu);
    filter.set_global_value(log_rate_variable, bytes);
}

FilterInputs FilterInputs::prepare(FilterObject &filter, const std::string &filter_name,
                                   const InputSettings &settings, CompiledRuleSet rules, const Reporter &report) {
    FilterInputs inputs;
    std::set<std::string> user_sized = apply_map_sizes(filter, settings.map_sizes);
    inputs.user_sized_ = user_sized;
    inputs.takes_rules_ = filter_takes_rules(filter);
    if (!rules.rules.empty() && !inputs.takes_rules_)
        throw Error("filter " + filter_name + " does not take --allow/--deny/--rules-file rules: include "
                    "<alfwrapper/rules.h> in it and call alf_rules_decide(), or leave out the filter to use the "
                    "built-in 'subnets'");
    if (settings.rule_hits && !inputs.takes_rules_)
        throw Error("--rule-hits: filter " + filter_name + " takes no rules, so there are no rule hits to count");
    inputs.rule_hits_ = settings.rule_hits;
    if (inputs.takes_rules_) size_rule_tables(filter, rules.compiled, user_sized, settings.rule_hits);
    inputs.rules_ = std::move(rules);
    set_log_rate(filter, filter_name, settings.log_rate);
    inputs.filter_name_ = filter_name;
    inputs.log_rate_ = settings.log_rate;

    // In this order, so that a later entry for the same key wins: the config
    // file's, then the files', then each --set.
    std::vector<MapSetting> entries = settings.map_entries;
    for (const auto &spec : settings.set_files)
        for (auto &setting : read_map_file(spec)) entries.push_back(std::move(setting));
    for (const auto &spec : settings.sets) entries.push_back(parse_map_setting(spec));
    inputs.entries_ = encode_map_settings(filter, entries, user_sized);
    for (const auto &map : inputs.entries_) {
        if (!map.note.empty()) report.info(map.note);
        for (const auto &warning : map.warnings) report.warning(warning);
    }
    // Every size as it now stands (--map-size, rule tables, maps raised to
    // fit their entries), for an object compiled anew before load.
    for (const auto &map : filter.maps()) inputs.map_entries_max_.emplace_back(map.name, map.max_entries);
    return inputs;
}

void set_socket_protocol(FilterObject &filter, int protocol) {
    constexpr const char *variable = "alf_socket_protocol";
    if (filter.global_value(variable).size() != 1 || protocol <= 0 || protocol > 255) return;
    std::uint8_t byte = static_cast<std::uint8_t>(protocol);
    filter.set_global_value(variable, std::span(&byte, 1));
}

void FilterInputs::apply_before_load(FilterObject &filter) const {
    set_log_rate(filter, filter_name_, log_rate_);
    set_socket_protocol(filter, socket_protocol_);
    for (const auto &[map, entries] : map_entries_max_) filter.set_map_size(map, entries);
    if (takes_rules_ && kept_tables_) size_rule_tables_as(filter, rules_.compiled, *kept_tables_, rule_hits_);
    else if (takes_rules_) size_rule_tables(filter, rules_.compiled, user_sized_, rule_hits_);
}

void FilterInputs::keep_rule_tables(const RuleMaps &running, int running_program_fd) {
    if (!takes_rules_) return;
    kept_tables_ = running;
    kept_program_fd_ = running_program_fd;
}

void FilterInputs::remove_earlier_entries(FilterObject &filter) const {
    for (const auto &map : entries_) remove_other_entries(filter, map);
}

void FilterInputs::write(FilterObject &filter, const Reporter &report) const {
    if (takes_rules_) {
        Stopwatch writing;
        write_rule_tables(filter, rules_.rules, rules_.compiled, kept_program_fd_);
        report.info("rules: tables written in " + writing.text());
    }
    write_map_entries(filter, entries_);
    for (const auto &map : entries_) report.info("map " + map.name + ": " + std::to_string(map.keys.size()) + " entries set");
}

}  // namespace alf
