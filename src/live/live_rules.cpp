#include "live/live_rules.hpp"

#include "common/error.hpp"
#include "common/util.hpp"
#include "inputs/rule_edits.hpp"
#include "inputs/rule_hits.hpp"
#include "inputs/rule_list.hpp"
#include "inputs/rule_tables.hpp"
#include "live/service.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace alf {

namespace {

struct RuleMapFds {
    UniqueFd ipv4, ipv6, state, list, hits;

    RuleMaps maps() const {
        return {ipv4.get(), ipv6.get(), state.get(), list ? list.get() : -1, hits ? hits.get() : -1};
    }
};

RuleMapFds open_rule_maps(const RunningFilter &service) {
    RuleMapFds fds{open_service_map(service, "alf_rules4"), open_service_map(service, "alf_rules6"),
                   open_service_map(service, "alf_rules_state"), open_service_map(service, rule_list_map),
                   open_service_map(service, rule_hits_map)};
    if (!fds.ipv4 || !fds.ipv6 || !fds.state)
        throw Error(describe_service(service) + ": its filter (" + service.metadata.filter +
                    ") takes no rules; its maps change with alfctl map " + service.metadata.name);
    return fds;
}

// The CIDRs of allow, deny or remove, as rules; messages name the action
// as typed ("allow 10.0.0.300/8: ..."), not the launch option.
RuleSet parsed_prefixes(const std::vector<std::string> &cidrs, RulesAction action) {
    Verdict verdict = action == RulesAction::deny ? Verdict::deny : Verdict::allow;
    std::string option = "--" + std::string(verdict_word(verdict)),
                word = action == RulesAction::remove ? "remove" : std::string(verdict_word(verdict));
    auto as_typed = [&](std::string text) {
        return text.starts_with(option) ? word + text.substr(option.size()) : text;
    };
    RuleSet set;
    try {
        for (const auto &cidr : cidrs) add_rule(set, verdict, cidr);
    } catch (const Error &e) {
        throw Error(as_typed(e.what()), e.exit_status());
    }
    for (auto &warning : set.warnings) warning = as_typed(warning);
    return set;
}

}  // namespace

RulesChange parse_rules_change(const std::vector<std::string> &words, const InputSettings &options) {
    RulesChange change;
    if (words.empty()) throw Error("no action given: show, allow, deny, remove or replace (see alfctl rules --help)");
    const std::string &action = words.front();
    std::vector<std::string> rest(words.begin() + 1, words.end());
    bool replacing = action == "replace";
    if (options.has_rules() && !replacing)
        throw Error("--allow, --deny and --rules-file go with replace; " + action + " takes CIDR arguments");
    if (action == "show") {
        if (!rest.empty()) throw Error("show takes no arguments, got " + quote_input(rest.front()));
    } else if (action == "allow" || action == "deny" || action == "remove") {
        change.action = action == "allow" ? RulesAction::allow : action == "deny" ? RulesAction::deny : RulesAction::remove;
        if (rest.empty()) throw Error(action + " needs at least one CIDR, such as 192.0.2.7 or 10.0.0.0/8");
        change.cidrs = std::move(rest);
    } else if (replacing) {
        change.action = RulesAction::replace;
        if (!rest.empty())
            throw Error("replace takes its rules from --allow, --deny and --rules-file, not " + quote_input(rest.front()));
        if (!options.has_rules())
            throw Error("replace needs the new rules: --rules-file PATH, --allow CIDR or --deny CIDR (an empty "
                        "--rules-file clears them)");
        change.replacement = options;
    } else {
        throw Error("unknown action " + quote_input(action) + ": expected show, allow, deny, remove or replace");
    }
    return change;
}

RulesOutcome apply_rules_change(const RunningFilter &service, const RulesChange &change) {
    RuleMapFds fds = open_rule_maps(service);
    RuleMaps maps = fds.maps();
    RulesOutcome outcome;
    outcome.service = describe_service(service);
    outcome.name = service.metadata.name;
    outcome.pid = service.metadata.pid;
    RuleCapacity capacity = rule_capacity(maps);
    outcome.ipv4_capacity = capacity.ipv4.capacity();
    outcome.ipv6_capacity = capacity.ipv6.capacity();
    outcome.rule_capacity = capacity.rules;
    outcome.slots = capacity.slots;
    if (change.action == RulesAction::show) {
        outcome.rules = read_rule_list(maps);
        outcome.generation = read_rules_state(maps).generation;
        outcome.compiled = compile_rules(outcome.rules, counts_rule_hits(maps.hits));
        outcome.rule_count = outcome.rules.rules.size();
        return outcome;
    }
    if (capacity.slots < 2)
        throw Error(outcome.service + ": its rule tables hold one rule set (started with --map-size alf_rules4=1 or "
                    "alf_rules6=1), so its rules cannot change while it runs; restart it with the new rules");
    // Parsed before the lock: bad input fails at once and changes nothing.
    bool replacing = change.action == RulesAction::replace;
    RuleSet given = replacing ? RuleSet{} : parsed_prefixes(change.cidrs, change.action);
    outcome.warnings = given.warnings;
    Stopwatch step;
    auto done = [&](const char *name) {
        outcome.steps.emplace_back(name, step.milliseconds());
        step = Stopwatch();
    };
    RulesLock lock(maps);
    done("lock");
    if (replacing) {
        const InputSettings &r = change.replacement;
        outcome.rules = read_rules(r.allow, r.deny, r.rules_files);
        outcome.warnings = outcome.rules.warnings;
        done("read");
    } else {
        // In place where it can: the change touches the prefixes it names.
        RuleEditOutcome edited = edit_rules(maps, given.rules, change.action == RulesAction::remove);
        done(edited.in_place ? "edit" : "publish");
        outcome.generation = edited.generation;
        outcome.rule_count = edited.rules;
        outcome.changed = true;
        if (change.list_after) {
            outcome.rules = read_rule_list(maps);
            outcome.compiled = compile_rules(outcome.rules, counts_rule_hits(maps.hits));
        }
        return outcome;
    }
    outcome.compiled = compile_rules(outcome.rules, counts_rule_hits(maps.hits));
    done("compile");
    outcome.generation = publish_rules(maps, outcome.rules, outcome.compiled);
    outcome.rule_count = outcome.rules.rules.size();
    done("publish");
    outcome.changed = true;
    return outcome;
}

std::optional<RunningRules> running_rules(const RunningFilter &service) {
    UniqueFd list = open_service_map(service, rule_list_map);
    if (!list) return std::nullopt;
    RuleMapFds fds = open_rule_maps(service);
    RunningRules running;
    running.rules = read_rule_list(fds.maps());
    running.generation = read_rules_state(fds.maps()).generation;
    running.compiled = compile_rules(running.rules);
    return running;
}

std::uint32_t rules_generation(const RunningFilter &service) {
    UniqueFd state = open_service_map(service, "alf_rules_state");
    if (!state) return 0;
    RuleMaps maps;
    maps.state = state.get();
    return read_rules_state(maps).generation;
}

std::optional<std::uint64_t> rules_in_force(const RunningFilter &service) {
    UniqueFd list = open_service_map(service, rule_list_map);
    if (!list) return std::nullopt;
    RuleListHeader header{};
    std::uint32_t key = 0;
    if (bpf_map_lookup_elem(list.get(), &key, &header) != 0) return std::nullopt;
    return header.count;
}

std::string deciding_rule(const RunningRules &running, bool ipv6, const std::uint8_t *address) {
    std::uint64_t hi = 0, lo = 0;
    if (ipv6) {
        for (int i = 0; i < 8; ++i) hi = hi << 8 | address[i];
        for (int i = 8; i < 16; ++i) lo = lo << 8 | address[i];
    } else {
        lo = 0xffff00000000ull | std::uint64_t(address[0]) << 24 | std::uint64_t(address[1]) << 16 |
             std::uint64_t(address[2]) << 8 | address[3];
    }
    // An IPv4-mapped IPv6 peer is an IPv4 peer, as the filter judges it;
    // IPv6 rules (::/0 too) apply to IPv6 peers only.
    bool peer_ipv4 = hi == 0 && (lo >> 32) == 0xffff;
    // The rules are sorted (compile_rules: IPv4 first, then by address and
    // length): look for the address's own prefix of each length, longest
    // first; of a tie, the deny decides.
    const std::vector<Rule> &rules = running.rules.rules;
    auto ipv6_begin = std::partition_point(rules.begin(), rules.end(), [](const Rule &r) { return r.is_ipv4(); });
    auto first = peer_ipv4 ? rules.begin() : ipv6_begin, last = peer_ipv4 ? ipv6_begin : rules.end();
    const RuleRecord peer{hi, lo, 128, 0, {}};
    const Rule *best = nullptr;
    for (int length = 128; length >= (peer_ipv4 ? 96 : 0) && !best; --length) {
        RuleRecord prefix = prefix_truncated(peer, static_cast<unsigned>(length));
        auto key = std::make_tuple(prefix.hi, prefix.lo, unsigned(prefix.prefix_len));
        auto [begin, end] = std::equal_range(first, last, key, [](const auto &a, const auto &b) {
            auto tuple = [](const auto &x) {
                if constexpr (std::is_same_v<std::decay_t<decltype(x)>, Rule>)
                    return std::make_tuple(x.hi, x.lo, unsigned(x.prefix_len));
                else
                    return x;
            };
            return tuple(a) < tuple(b);
        });
        for (auto it = begin; it != end; ++it)
            if (!best || it->verdict == Verdict::deny) best = &*it;
    }
    if (best) return std::string(verdict_word(best->verdict)) + " " + format_rule_prefix(*best);
    return "no rule: default " + std::string(verdict_word(running.compiled.default_verdict));
}

std::vector<RuleHitsLine> running_rule_hits(const RunningFilter &service) {
    RuleMapFds fds = open_rule_maps(service);
    RuleMaps maps = fds.maps();
    if (!counts_rule_hits(maps.hits))
        throw Error(describe_service(service) + ": its filter counts no hits per rule; start it with alfwrapper "
                    "--rule-hits to count them");
    RuleSet rules = read_rule_list(maps);
    CompiledRules compiled = compile_rules(rules);
    std::vector<RuleHitsLine> lines;
    for (const RuleHits &hits : read_rule_hits(maps, rules)) {
        RuleHitsLine line;
        line.packets = hits.packets;
        if (hits.rule < 0) {
            line.verdict = verdict_word(compiled.default_verdict);
            line.rule = "no rule: default " + line.verdict;
        } else {
            const Rule &rule = rules.rules[static_cast<std::size_t>(hits.rule)];
            line.verdict = verdict_word(rule.verdict);
            line.prefix = format_rule_prefix(rule);
            line.rule = line.verdict + " " + line.prefix;
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

std::vector<RuleHitsLine> rule_hits_since(const std::vector<RuleHitsLine> &now, const std::vector<RuleHitsLine> &before) {
    std::map<std::string, std::uint64_t> earlier;
    for (const auto &line : before) earlier[line.rule] = line.packets;
    std::vector<RuleHitsLine> changed;
    for (auto line : now) {
        // A rule rewritten in place restarts its count: then all of it is new.
        std::uint64_t was = earlier.count(line.rule) ? earlier[line.rule] : 0;
        line.packets = line.packets >= was ? line.packets - was : line.packets;
        if (line.packets) changed.push_back(std::move(line));
    }
    std::stable_sort(changed.begin(), changed.end(), [](const auto &a, const auto &b) { return a.packets > b.packets; });
    return changed;
}

std::string format_rule_hits(const std::vector<RuleHitsLine> &lines, std::size_t top) {
    std::string text = "rules with the most hits (packets each decided):\n";
    if (lines.empty()) text += "  none yet\n";
    for (std::size_t i = 0; i < lines.size() && i < top; ++i) {
        std::string count = std::to_string(lines[i].packets);
        text += std::string(count.size() < 12 ? 12 - count.size() : 0, ' ') + count + "  " + lines[i].rule + "\n";
    }
    if (lines.size() > top)
        text += "  (" + std::to_string(lines.size() - top) + " more rules with hits)\n";
    return text;
}

nlohmann::json rule_hits_json(const std::vector<RuleHitsLine> &lines, std::size_t top) {
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < lines.size() && i < top; ++i) {
        const auto &line = lines[i];
        rows.push_back({{"verdict", line.verdict},
                        {"prefix", line.prefix.empty() ? nlohmann::json(nullptr) : nlohmann::json(line.prefix)},
                        {"packets", line.packets}});
    }
    return rows;
}

std::string format_rules(const RulesOutcome &outcome) {
    std::string text;
    for (const auto &rule : outcome.rules.rules)
        text += std::string(verdict_word(rule.verdict)) + " " + format_rule_prefix(rule) + "\n";
    const CompiledRules &c = outcome.compiled;
    text += "# " + outcome.service + ": " + std::to_string(c.ipv4_rules) + " IPv4 and " +
            std::to_string(c.ipv6_rules) + " IPv6 rules; peers no rule covers: " +
            std::string(verdict_word(c.default_verdict)) + "; tables hold " + std::to_string(c.ipv4_ranges) + "/" +
            std::to_string(outcome.ipv4_capacity) + " IPv4 and " + std::to_string(c.ipv6_ranges) + "/" +
            std::to_string(outcome.ipv6_capacity) + " IPv6 ranges\n";
    return text;
}

nlohmann::json rules_json(const RulesOutcome &outcome) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto &rule : outcome.rules.rules)
        rules.push_back({{"verdict", verdict_word(rule.verdict)},
                         {"prefix", format_rule_prefix(rule)}});
    const CompiledRules &c = outcome.compiled;
    return {{"name", outcome.name},
            {"pid", outcome.pid},
            {"changed", outcome.changed},
            {"generation", outcome.generation},
            {"rules", rules},
            {"default", verdict_word(c.default_verdict)},
            {"ipv4", {{"rules", c.ipv4_rules}, {"ranges", c.ipv4_ranges}, {"capacity", outcome.ipv4_capacity}}},
            {"ipv6", {{"rules", c.ipv6_rules}, {"ranges", c.ipv6_ranges}, {"capacity", outcome.ipv6_capacity}}},
            {"rule_capacity", outcome.rule_capacity},
            {"slots", outcome.slots},
            {"warnings", outcome.warnings}};
}

}  // namespace alf
