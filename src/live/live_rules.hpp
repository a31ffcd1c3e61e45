// alfctl rules: the rules of a running service's filter, shown and changed
// while it runs. allow, deny and remove change the prefixes they name in
// place (inputs/rule_edits.hpp); replace, and a change that reaches too far,
// compile the whole set and write it into the tables' spare slot
// (inputs/rule_tables.hpp). Either way the change is published by one store:
// every packet is judged by the old set or the new one, and an error
// changes nothing.
#pragma once

#include "bpf/program_metadata.hpp"
#include "inputs/filter_inputs.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace alf {

enum class RulesAction { show, allow, deny, remove, replace };

struct RulesChange {
    RulesAction action = RulesAction::show;
    std::vector<std::string> cidrs;  // allow, deny, remove
    InputSettings replacement;       // replace: --allow, --deny, --rules-file
    bool list_after = false;         // the rules in force wanted after a change (--json)
};

// Parses "show", "allow CIDR...", ...; throws Error naming the problem.
RulesChange parse_rules_change(const std::vector<std::string> &words, const InputSettings &options);

struct RulesOutcome {
    std::string service;  // describe_service()
    std::string name;
    long pid = 0;
    RuleSet rules;        // in force after the action (after a change: with list_after only)
    std::size_t rule_count = 0;  // rules in force after the action
    CompiledRules compiled;
    std::uint32_t generation = 0;
    std::size_t ipv4_capacity = 0, ipv6_capacity = 0, rule_capacity = 0;
    unsigned slots = 0;
    bool changed = false;
    std::vector<std::string> warnings;
    // Each step of a change and its milliseconds, in order (for -v: where
    // the time goes).
    std::vector<std::pair<std::string, double>> steps;
};

// Applies the change to the service's filter (show: reads only).
RulesOutcome apply_rules_change(const RunningFilter &service, const RulesChange &change);

// The rules in force and their generation, or nullopt when the service's
// filter takes no rules.
struct RunningRules {
    RuleSet rules;
    CompiledRules compiled;
    std::uint32_t generation = 0;
};
std::optional<RunningRules> running_rules(const RunningFilter &service);

// The generation of the rules in force (0 without rules): cheap, to tell
// whether running_rules() must be read again.
std::uint32_t rules_generation(const RunningFilter &service);

// How many rules are in force, or nullopt when the filter takes no rules
// (read from the rule list's head alone: cheap at a million rules).
std::optional<std::uint64_t> rules_in_force(const RunningFilter &service);

// The rule that decides for an address (IPv4 as 4 bytes, IPv6 as 16, network
// order): "deny 10.0.0.0/8", or "no rule: default deny".
std::string deciding_rule(const RunningRules &rules, bool ipv6, const std::uint8_t *address);

// What each rule decided, for a filter started with --rule-hits: "deny
// 10.0.0.0/8" (or "no rule: default deny") and its packets, most first.
struct RuleHitsLine {
    std::string rule, verdict, prefix;  // prefix "" for the default
    std::uint64_t packets = 0;
};
std::vector<RuleHitsLine> running_rule_hits(const RunningFilter &service);

// The hits of `now` less those of `before` (--watch), most first.
std::vector<RuleHitsLine> rule_hits_since(const std::vector<RuleHitsLine> &now, const std::vector<RuleHitsLine> &before);

// The first `top` lines as a table, and as JSON.
std::string format_rule_hits(const std::vector<RuleHitsLine> &lines, std::size_t top);
nlohmann::json rule_hits_json(const std::vector<RuleHitsLine> &lines, std::size_t top);

std::string format_rules(const RulesOutcome &outcome);
nlohmann::json rules_json(const RulesOutcome &outcome);

}  // namespace alf
