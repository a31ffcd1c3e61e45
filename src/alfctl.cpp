// alfctl: the workbench for filter authors. compile, check, test.
#include "cli/ctl_cli.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"
#include "common/report.hpp"
#include "common/util.hpp"
#include "launch/sockets.hpp"
#include "live/filter_list.hpp"
#include "live/live_map.hpp"
#include "live/live_rules.hpp"
#include "live/service.hpp"
#include "live/traffic.hpp"
#include "pipeline/builtin_catalog.hpp"
#include "pipeline/filter_pipeline.hpp"
#include "tools.hpp"
#include "workbench/editor_setup.hpp"
#include "workbench/pcap_reader.hpp"
#include "workbench/test_packet.hpp"
#include "workbench/test_run.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

namespace {

// "filters/whitelist.c" -> "whitelist.o", as cc -c names its output.
std::string default_object_name(const std::string &source) {
    std::string base = source.substr(source.find_last_of('/') + 1);
    return base.substr(0, base.size() - 2) + ".o";
}

int run_compile(const alf::CtlCommand &command, const alf::Reporter &report) {
    alf::FilterBytes bytes = alf::make_filter_builder(command, report, alf::Optimization::full, false).obtain();
    std::string output = command.output.empty() ? default_object_name(command.filter) : command.output;
    alf::write_output_file(output, bytes.object);
    report.info("wrote " + output + " (" + std::to_string(bytes.object.size()) + " bytes)");
    return 0;
}

// The rules as the classic BPF program alfwrapper would attach, checked by
// the kernel (which needs no privileges).
alf::ClassicRules checked_classic_program(alf::FilterPipeline &pipeline, const alf::Reporter &report) {
    alf::ClassicRules classic = pipeline.classic_program();
    alf::check_classic(classic.program);
    report.info("classic BPF program: accepted by the kernel");
    return classic;
}

int run_check_classic(const alf::CtlCommand &options, alf::FilterPipeline &pipeline, const alf::Reporter &report) {
    alf::ClassicRules classic = checked_classic_program(pipeline, report);
    std::size_t count = classic.program.instructions.size();
    std::cout << options.filter << ": rules compiled to classic BPF, accepted by the kernel\n";
    std::cout << "program: " << count << " instructions of " << alf::classic_max_instructions << " ("
              << 100 * count / alf::classic_max_instructions << "%), " << classic.ipv4_segments << " IPv4 and "
              << classic.ipv6_segments << " IPv6 address segments\n";
    std::cout << "ok: alfwrapper can attach the classic program to datagram and Unix sockets without privileges "
                 "(TCP sockets need CAP_NET_ADMIN)\n";
    return 0;
}

const char *origin_text(const alf::FilterBytes &bytes) {
    switch (bytes.origin) {
    case alf::FilterBytes::Origin::file: return "read from the object file";
    case alf::FilterBytes::Origin::cache: return "taken from the compile cache";
    case alf::FilterBytes::Origin::compiler: return "compiled";
    case alf::FilterBytes::Origin::builtin: return "built into alfwrapper";
    }
    return "";
}

int run_check(const alf::CtlCommand &options, const alf::Reporter &report) {
    alf::FilterPipeline pipeline(options, report);
    pipeline.read_rules();
    if (pipeline.backend() == alf::Backend::classic) return run_check_classic(options, pipeline, report);
    auto [filter, bytes] = pipeline.load();
    std::cout << options.filter << ": " << origin_text(bytes);
    if (bytes.origin == alf::FilterBytes::Origin::cache || bytes.origin == alf::FilterBytes::Origin::compiler)
        std::cout << " (" << alf::optimization_name(bytes.optimization) << " optimizer)";
    std::cout << ", accepted by the verifier\n";

    alf::LoadedProgramInfo loaded = filter.loaded_program_info();
    for (const auto &program : filter.programs()) {
        std::cout << "program " << program.name << " (section " << program.section << "): " << program.instructions
                  << " instructions";
        if (program.chosen)
            std::cout << ", " << loaded.translated_bytes / 8 << " after verification, " << loaded.jited_bytes
                      << " bytes of machine code; attached by alfwrapper";
        else
            std::cout << "; not loaded";
        std::cout << "\n";
    }
    auto maps = filter.maps();
    for (const auto &map : maps) std::cout << "map " << alf::describe_map(map) << "\n";
    if (maps.empty()) std::cout << "no maps\n";

    alf::FilterCharge charge = alf::measure_filter_charge(filter.program_fd());
    if (!charge.fits)
        throw alf::Error("program " + filter.program_name() + " (" + std::to_string(loaded.translated_bytes) +
                         " bytes after verification) does not fit a socket's option memory: the kernel charges the "
                         "filter to every socket it is attached to, and to every socket accepted from a filtered "
                         "listener, and net.core.optmem_max is " + std::to_string(charge.optmem_max) +
                         " bytes; make the program smaller or raise the sysctl");
    std::cout << "socket option memory: " << charge.bytes << " bytes per socket of net.core.optmem_max "
              << charge.optmem_max << " (" << (charge.optmem_max ? 100 * charge.bytes / charge.optmem_max : 0)
              << "%), charged to the listener and to every accepted socket\n";
    std::cout << "ok: alfwrapper can load and attach " << options.filter << "\n";
    return 0;
}

struct TestCase {
    std::string description;
    std::vector<std::uint8_t> frame;
    std::optional<alf::PacketVerdict> expect;
    std::string note;  // where it came from, what was done to it
};

std::vector<TestCase> collect_test_cases(const alf::CtlCommand &options) {
    std::vector<TestCase> cases;
    std::optional<alf::PacketVerdict> expect;
    if (options.expect) expect = alf::parse_verdict(*options.expect);
    for (auto &packet : alf::parse_test_packets(options.packets))
        cases.push_back({packet.description, std::move(packet.frame), packet.expect ? packet.expect : expect, ""});
    if (!options.pcap.empty()) {
        std::size_t number = 0;
        for (auto &frame : alf::read_capture_frames(options.pcap)) {
            ++number;
            TestCase test{alf::describe_frame(frame), std::move(frame), expect,
                          options.pcap + " #" + std::to_string(number)};
            if (test.frame.size() > alf::test_run_max_frame) {
                test.frame.resize(alf::test_run_max_frame);
                test.note += ", cut to " + std::to_string(alf::test_run_max_frame) + " bytes for the test run";
            }
            // An Ethernet header and the smallest IP header: anything shorter
            // never reaches a socket's filter, and a verdict on it means nothing.
            if (test.frame.size() < 14 + 20)
                throw alf::Error(test.note + ": " + std::to_string(test.frame.size()) +
                                 " bytes, too short for an Ethernet and an IP header: not a packet a socket filter "
                                 "sees (cut it from the capture)");
            cases.push_back(std::move(test));
        }
    }
    return cases;
}

int run_test(const alf::CtlCommand &options, const alf::Reporter &report) {
    std::vector<TestCase> cases = collect_test_cases(options);
    alf::FilterPipeline pipeline(options, report);
    pipeline.read_rules();
    // The program that judges: the loaded eBPF filter in the kernel, or the
    // classic program in the interpreter of its semantics.
    std::optional<alf::LoadedFilter> loaded;
    std::optional<alf::ClassicRules> classic;
    std::function<alf::FrameRun(std::span<const std::uint8_t>)> judge;
    std::string program_name;
    if (pipeline.backend() == alf::Backend::classic) {
        classic = checked_classic_program(pipeline, report);
        judge = [&](std::span<const std::uint8_t> frame) {
            return alf::judge_frame(alf::test_classic(classic->program, frame), frame.size());
        };
        program_name = "classic";
    } else {
        loaded.emplace(pipeline.load());
        judge = [&](std::span<const std::uint8_t> frame) { return alf::run_frame(loaded->object.program_fd(), frame); };
        program_name = loaded->object.program_name();
    }
    bool all_matched = true;
    nlohmann::json results = nlohmann::json::array();
    for (const auto &test : cases) {
        alf::FrameRun run = alf::with_context("packet " + test.description, [&] {
            return judge(test.frame);
        });
        bool matched = !test.expect || *test.expect == run.verdict;
        all_matched = all_matched && matched;
        if (options.json) {
            nlohmann::json result = {{"packet", test.description},
                                     {"verdict", alf::verdict_name(run.verdict)},
                                     {"returned", run.returned},
                                     {"length", run.length},
                                     {"trimmed", run.trimmed}};
            if (test.expect) {
                result["expected"] = alf::verdict_name(*test.expect);
                result["matched"] = matched;
            }
            if (!test.note.empty()) result["from"] = test.note;
            results.push_back(std::move(result));
            continue;
        }
        std::cout << alf::verdict_name(run.verdict) << "  " << test.description;
        if (run.trimmed) std::cout << "  (kept the first " << run.returned << " of " << run.length << " bytes)";
        if (!test.note.empty()) std::cout << "  [" << test.note << "]";
        if (!matched) std::cout << "  MISMATCH: expected " << alf::verdict_name(*test.expect);
        std::cout << "\n";
    }
    if (options.json)
        std::cout << nlohmann::json{{"filter", options.filter},
                                    {"program", program_name},
                                    {"backend", classic ? "classic" : "ebpf"},
                                    {"results", std::move(results)},
                                    {"all_matched", all_matched}}
                         .dump(2)
                  << "\n";
    return all_matched ? 0 : alf::exit_verdict_mismatch;
}

int run_list(const alf::CtlCommand &command) {
    auto filters = alf::list_running_filters(command.service);
    if (command.json) std::cout << alf::filter_list_json(filters).dump(2) << "\n";
    else std::cout << alf::format_filter_list(filters);
    return 0;
}

int run_rules(const alf::CtlCommand &command, const alf::Reporter &report) {
    alf::RulesChange change = alf::parse_rules_change(command.action, command.inputs);
    change.list_after = command.json;
    alf::Stopwatch taking;
    alf::RunningFilter service = alf::find_service(command.service);
    double found_ms = taking.milliseconds();
    alf::RulesOutcome outcome = alf::apply_rules_change(service, change);
    for (const auto &warning : outcome.warnings) report.warning(warning);
    if (command.json) std::cout << alf::rules_json(outcome).dump(2) << "\n";
    else if (!outcome.changed) std::cout << alf::format_rules(outcome);
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
            std::cout << out.dump(interval ? -1 : 2) << std::endl;
            return;
        }
        std::cout << (before ? "\n" + alf::format_counters(service, now, before, *interval)
                             : alf::format_counters(service, now));
        if (top) std::cout << alf::format_rule_hits(lines, top);
        std::cout << std::flush;
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
            if (command.json) std::cout << alf::event_json(event, rule).dump() << "\n";
            else std::cout << alf::format_event(event, rule);
        }
        if (suppressed > reported) {
            if (command.json) std::cout << nlohmann::json{{"not_logged", suppressed - reported}}.dump() << "\n";
            else std::cout << "# " << suppressed - reported << " drops over the log's rate, counted but not logged\n";
            reported = suppressed;
        }
        std::cout << std::flush;
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
    if (command.json) std::cout << alf::map_outcome_json(outcome).dump(2) << "\n";
    else std::cout << alf::format_map_outcome(outcome);
    return 0;
}

int run_headers(const alf::CtlCommand &options, const alf::Reporter &report) {
    std::string include_dir = alf::installed_headers_dir();
    for (const auto &header : alf::headers_differing(include_dir))
        report.warning(include_dir + "/" + header + " is not the header built into " + report.program +
                       ": an editor would check filters against other headers than alfwrapper compiles them with");
    std::string written = alf::write_compile_flags(options.output.empty() ? "." : options.output, include_dir);
    std::cout << include_dir << "\n";
    if (!report.quiet)
        std::cerr << report.program << ": wrote " << written
                  << ": clangd checks the filters beside it with these headers and alfwrapper's flags\n";
    return 0;
}

int run(int argc, char **argv, alf::Reporter &report) {
    alf::CtlCommand options = alf::parse_ctl_command_line(argc, argv);
    report.verbose = options.verbose;
    report.quiet = options.quiet;
    if (options.version) {
        std::cout << "alfctl " << ALF_VERSION << "\n";
        return 0;
    }
    if (options.help) {
        std::cout << alf::ctl_usage_text(options.verb);
        return 0;
    }
    switch (options.verb) {
    case alf::CtlVerb::compile: return run_compile(options, report);
    case alf::CtlVerb::check: return run_check(options, report);
    case alf::CtlVerb::test: return run_test(options, report);
    case alf::CtlVerb::list: return run_list(options);
    case alf::CtlVerb::rules: return run_rules(options, report);
    case alf::CtlVerb::stats: return run_stats(options);
    case alf::CtlVerb::log: return run_log(options);
    case alf::CtlVerb::map: return run_map(options);
    case alf::CtlVerb::filters: std::cout << alf::describe_builtin_filters(); return 0;
    case alf::CtlVerb::headers: return run_headers(options, report);
    case alf::CtlVerb::none: break;
    }
    std::cout << alf::ctl_usage_text(alf::CtlVerb::none);
    return alf::exit_usage;
}

}  // namespace

int alf::alfctl_main(int argc, char **argv) {
    alf::Reporter report{.program = "alfctl"};
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
