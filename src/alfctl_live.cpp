// alfctl's verbs for running services: list, rules, stats, log and map.
// Linked into both executables: alfctl (small, without the compiler: these
// verbs start as fast as the tools they stand beside) and alfwrapper, which
// runs every verb when started as alfctl.
#include "cli/ctl_cli.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"
#include "common/report.hpp"
#include "common/util.hpp"
#include "inputs/rule_tables.hpp"
#include "live/filter_list.hpp"
#include "live/live_map.hpp"
#include "live/live_rules.hpp"
#include "live/service.hpp"
#include "live/traffic.hpp"
#include "tools.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

namespace {

int run_list(const alf::CtlCommand &command) {
    auto filters = alf::list_running_filters(command.service);
    alf::print_out(command.json ? alf::filter_list_json(filters).dump(2) + "\n" : alf::format_filter_list(filters));
    return 0;
}

int run_rules(const alf::CtlCommand &command, const alf::Reporter &report) {
    alf::RulesChange change = alf::parse_rules_change(command.action, command.inputs);
    change.list_after = command.json;
    alf::leave_rule_mappings_to_exit();  // one change, then the process ends
    alf::Stopwatch taking;
    alf::RunningFilter service = alf::find_service(command.service);
    double found_ms = taking.milliseconds();
    alf::RulesOutcome outcome = alf::apply_rules_change(service, change);
    for (const auto &warning : outcome.warnings) report.warning(warning);
    if (command.json) alf::print_out(alf::rules_json(outcome).dump(2) + "\n");
    else if (!outcome.changed) alf::print_out(alf::format_rules(outcome));
    if (outcome.changed) {
        // Each step, so that -v says where the time goes.
        std::string steps = "find " + alf::milliseconds_text(found_ms);
        for (const auto &[step, ms] : outcome.steps) steps += ", " + step + " " + alf::milliseconds_text(ms);
        report.info(outcome.service + ": " + std::to_string(outcome.rule_count) + " rules in force (generation " +
                    std::to_string(outcome.generation) + "), changed in " + taking.text() + ": " + steps);
    }
    return 0;
}

// --watch SECONDS: a positive number, at most a day.
double watch_interval(const std::string &text) {
    char *end = nullptr;
    errno = 0;
    double seconds = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || errno != 0 || *end != '\0' || !(seconds >= 0.1 && seconds <= 86400))
        throw alf::Error("--watch " + alf::quote_input(text) + ": give the seconds between prints, 0.1 to 86400");
    return seconds;
}

int run_stats(const alf::CtlCommand &command) {
    std::optional<double> interval;
    if (!command.watch.empty()) interval = watch_interval(command.watch);
    std::size_t top = command.top_rules.empty() ? 0 : alf::parse_unsigned(command.top_rules, 1000000, "--rules");
    if (!command.top_rules.empty() && top == 0) throw alf::Error("--rules 0: give how many rules to show, 1 or more");
    alf::RunningFilter service = alf::find_service(command.service);
    auto rule_hits = [&] { return top ? alf::running_rule_hits(service) : std::vector<alf::RuleHitsLine>{}; };
    alf::TrafficCounters counters = alf::read_counters(service);
    std::vector<alf::RuleHitsLine> hits = rule_hits();
    auto print = [&](const alf::TrafficCounters &now, const alf::TrafficCounters *before,
                     const std::vector<alf::RuleHitsLine> &lines) {
        if (command.json) {
            nlohmann::json out = alf::counters_json(service, now);
            if (top) out["rules"] = alf::rule_hits_json(lines, top);
            alf::print_out(out.dump(interval ? -1 : 2) + "\n");
            alf::flush_out();
            return;
        }
        alf::print_out(before ? "\n" + alf::format_counters(service, now, before, *interval)
                              : alf::format_counters(service, now));
        if (top) alf::print_out(alf::format_rule_hits(lines, top));
        alf::flush_out();
    };
    print(counters, nullptr, hits);
    while (interval) {
        std::this_thread::sleep_for(std::chrono::duration<double>(*interval));
        alf::TrafficCounters now;
        std::vector<alf::RuleHitsLine> hits_now;
        try {
            now = alf::read_counters(service);
            hits_now = rule_hits();
        } catch (const alf::Error &) {
            throw alf::Error(alf::describe_service(service) + " is gone: its filter was unloaded");
        }
        // JSON: totals, as the counters; text: what changed.
        print(now, &counters, command.json ? hits_now : alf::rule_hits_since(hits_now, hits));
        counters = now;
        hits = std::move(hits_now);
    }
    return 0;
}

int run_log(const alf::CtlCommand &command) {
    alf::RunningFilter service = alf::find_service(command.service);
    alf::DropLog log(service);
    std::uint64_t suppressed = alf::read_counters(service).suppressed, reported = 0;
    auto print = [&] {
        for (const auto &event : log.read_new()) {
            std::string rule = log.deciding_rule(event);
            alf::print_out(command.json ? alf::event_json(event, rule).dump() + "\n" : alf::format_event(event, rule));
        }
        if (suppressed > reported) {
            alf::print_out(command.json ? nlohmann::json{{"not_logged", suppressed - reported}}.dump() + "\n"
                                        : "# " + std::to_string(suppressed - reported) +
                                              " drops over the log's rate, counted but not logged\n");
            reported = suppressed;
        }
        alf::flush_out();
    };
    print();
    while (command.follow) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        try {
            suppressed = alf::read_counters(service).suppressed;
        } catch (const alf::Error &) {
            throw alf::Error(alf::describe_service(service) + " is gone: its filter was unloaded");
        }
        print();
    }
    return 0;
}

int run_map(const alf::CtlCommand &command) {
    alf::MapRequest request = alf::parse_map_request(command.action);
    alf::RunningFilter service = alf::find_service(command.service);
    alf::MapOutcome outcome = alf::apply_map_request(service, request);
    alf::print_out(command.json ? alf::map_outcome_json(outcome).dump(2) + "\n" : alf::format_map_outcome(outcome));
    return 0;
}

}  // namespace

bool alf::is_live_verb(CtlVerb verb) {
    return verb == CtlVerb::list || verb == CtlVerb::rules || verb == CtlVerb::stats || verb == CtlVerb::log ||
           verb == CtlVerb::map;
}

int alf::run_live_verb(const CtlCommand &command, const Reporter &report) {
    switch (command.verb) {
    case CtlVerb::list: return run_list(command);
    case CtlVerb::rules: return run_rules(command, report);
    case CtlVerb::stats: return run_stats(command);
    case CtlVerb::log: return run_log(command);
    case CtlVerb::map: return run_map(command);
    default: break;
    }
    throw Error("internal error: not a verb for running services");
}
