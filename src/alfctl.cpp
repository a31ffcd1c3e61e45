// alfctl: the workbench for filter authors. compile, check, test.
#include "classic/classic_to_ebpf.hpp"
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
    alf::out() << options.filter << ": rules compiled to classic BPF, accepted by the kernel\n";
    alf::out() << "program: " << count << " instructions of " << alf::classic_max_instructions << " ("
               << 100 * count / alf::classic_max_instructions << "%), " << classic.ipv4_segments << " IPv4 and "
               << classic.ipv6_segments << " IPv6 address segments\n";
    // A TCP socket takes it from CAP_NET_ADMIN alone; with CAP_BPF,
    // alfwrapper attaches its eBPF translation there: checked too when the
    // caller could load it.
    if (pipeline.access().may_load_ebpf) {
        alf::TranslatedClassic translated = alf::load_classic_as_ebpf(classic.program.instructions);
        alf::out() << "eBPF translation: " << translated.instructions
                   << " instructions, accepted by the verifier (what alfwrapper attaches to TCP sockets without "
                      "CAP_NET_ADMIN)\n";
    }
    alf::out() << "ok: alfwrapper can attach the classic program to datagram and Unix sockets without privileges "
                  "(TCP sockets: CAP_NET_ADMIN, or CAP_BPF for its eBPF translation)\n";
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
    alf::out() << options.filter << ": " << origin_text(bytes);
    if (bytes.origin == alf::FilterBytes::Origin::cache || bytes.origin == alf::FilterBytes::Origin::compiler)
        alf::out() << " (" << alf::optimization_name(bytes.optimization) << " optimizer)";
    alf::out() << ", accepted by the verifier\n";

    alf::LoadedProgramInfo loaded = filter.loaded_program_info();
    for (const auto &program : filter.programs()) {
        alf::out() << "program " << program.name << " (section " << program.section << "): " << program.instructions
                   << " instructions";
        if (program.chosen)
            alf::out() << ", " << loaded.translated_bytes / 8 << " after verification, " << loaded.jited_bytes
                       << " bytes of machine code, " << loaded.verified_instructions
                       << " processed by the verifier; attached by alfwrapper";
        else
            alf::out() << "; not loaded";
        alf::out() << "\n";
    }
    auto maps = filter.maps();
    for (const auto &map : maps) alf::out() << "map " << alf::describe_map(map) << "\n";
    if (maps.empty()) alf::out() << "no maps\n";

    alf::FilterCharge charge = alf::measure_filter_charge(filter.program_fd());
    if (!charge.fits)
        throw alf::Error("program " + filter.program_name() + " (" + std::to_string(loaded.translated_bytes) +
                         " bytes after verification) does not fit a socket's option memory: the kernel charges the "
                         "filter to every socket it is attached to, and to every socket accepted from a filtered "
                         "listener, and net.core.optmem_max is " + std::to_string(charge.optmem_max) +
                         " bytes; make the program smaller or raise the sysctl");
    alf::out() << "socket option memory: " << charge.bytes << " bytes per socket of net.core.optmem_max "
               << charge.optmem_max << " (" << (charge.optmem_max ? 100 * charge.bytes / charge.optmem_max : 0)
               << "%), charged to the listener and to every accepted socket\n";
    alf::out() << "ok: alfwrapper can load and attach " << options.filter << "\n";
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
        alf::out() << alf::verdict_name(run.verdict) << "  " << test.description;
        if (run.trimmed) alf::out() << "  (kept the first " << run.returned << " of " << run.length << " bytes)";
        if (!test.note.empty()) alf::out() << "  [" << test.note << "]";
        if (!matched) alf::out() << "  MISMATCH: expected " << alf::verdict_name(*test.expect);
        alf::out() << "\n";
    }
    if (options.json)
        alf::out() << nlohmann::json{{"filter", options.filter},
                                     {"program", program_name},
                                     {"backend", classic ? "classic" : "ebpf"},
                                     {"results", std::move(results)},
                                     {"all_matched", all_matched}}
                          .dump(2)
                   << "\n";
    return all_matched ? 0 : alf::exit_verdict_mismatch;
}

int run_headers(const alf::CtlCommand &options, const alf::Reporter &report) {
    std::string include_dir = alf::installed_headers_dir();
    for (const auto &header : alf::headers_differing(include_dir))
        report.warning(include_dir + "/" + header + " is not the header built into " + report.program +
                       ": an editor would check filters against other headers than alfwrapper compiles them with");
    std::string written = alf::write_compile_flags(options.output.empty() ? "." : options.output, include_dir);
    alf::out() << include_dir << "\n";
    if (!report.quiet)
        alf::err() << report.program << ": wrote " << written
                   << ": clangd checks the filters beside it with these headers and alfwrapper's flags\n";
    return 0;
}

int run(int argc, char **argv, alf::Reporter &report) {
    alf::CtlCommand options = alf::parse_ctl_command_line(argc, argv);
    report.verbose = options.verbose;
    report.quiet = options.quiet;
    if (options.version) {
        alf::out() << "alfctl " << ALF_VERSION << "\n";
        return 0;
    }
    if (options.help) {
        alf::out() << alf::ctl_usage_text(options.verb);
        return 0;
    }
    switch (options.verb) {
    case alf::CtlVerb::compile: return run_compile(options, report);
    case alf::CtlVerb::check: return run_check(options, report);
    case alf::CtlVerb::test: return run_test(options, report);
    case alf::CtlVerb::list:
    case alf::CtlVerb::rules:
    case alf::CtlVerb::stats:
    case alf::CtlVerb::log:
    case alf::CtlVerb::map: return alf::run_live_verb(options, report);
    case alf::CtlVerb::filters: alf::out() << alf::describe_builtin_filters(); return 0;
    case alf::CtlVerb::headers: return run_headers(options, report);
    case alf::CtlVerb::none: break;
    }
    alf::out() << alf::ctl_usage_text(alf::CtlVerb::none);
    return alf::exit_usage;
}

}  // namespace

int alf::alfctl_main(int argc, char **argv) {
    alf::Reporter report{.program = "alfctl"};
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
