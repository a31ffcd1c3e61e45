// alfctl: the workbench for filter authors. compile, check, test.
#include "bpf_access.hpp"
#include "classic_rules.hpp"
#include "ctl_cli.hpp"
#include "error.hpp"
#include "filter_inputs.hpp"
#include "filter_source.hpp"
#include "loader.hpp"
#include "map_entries.hpp"
#include "pcap_reader.hpp"
#include "report.hpp"
#include "sockets.hpp"
#include "test_packet.hpp"
#include "test_run.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

namespace {

alf::FilterBuilder make_builder(const alf::CtlOptions &options, const alf::Reporter &report,
                                alf::Optimization optimization, bool builtin_only = false) {
    return alf::FilterBuilder({options.filter, options.defines, options.include_dirs, builtin_only},
                              {.color = alf::stderr_wants_color(), .use_cache = !options.no_cache,
                               .cache_dir = options.cache_dir, .optimization = optimization},
                              report.messages());
}

// "filters/whitelist.c" -> "whitelist.o", as cc -c names its output.
std::string default_object_name(const std::string &source) {
    std::string base = source.substr(source.find_last_of('/') + 1);
    return base.substr(0, base.size() - 2) + ".o";
}

void write_file_atomically(const std::string &path, const std::vector<std::uint8_t> &bytes) {
    std::string temporary = path + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out.flush()) {
            std::remove(temporary.c_str());
            throw alf::Error("cannot write " + path + " (check that its directory exists and is writable)",
                             alf::exit_system);
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        throw alf::system_error("cannot write " + path, errno);
    }
}

int run_compile(const alf::CtlOptions &options, const alf::Reporter &report) {
    auto builder = make_builder(options, report, alf::Optimization::full);
    alf::FilterBytes bytes = builder.obtain();
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;
    std::string output = options.output.empty() ? default_object_name(options.filter) : options.output;
    write_file_atomically(output, bytes.object);
    report.info("wrote " + output + " (" + std::to_string(bytes.object.size()) + " bytes)");
    return 0;
}

// What check and test run: the filter alfwrapper would attach, with the same
// maps and rules, on the back end alfwrapper would choose.
struct Setup {
    alf::Options wrapper;
    alf::BpfAccess access;
    alf::CompiledRuleSet rules;
    alf::Backend backend = alf::Backend::ebpf;
};

Setup set_up(const alf::CtlOptions &options, const alf::Reporter &report) {
    Setup setup{alf::wrapper_options(options), alf::assess_bpf_access(), {}, {}};
    alf::require_trusted_inputs(setup.wrapper, setup.access);
    auto info = [&](const std::string &text) { report.info(text); };
    setup.rules =
        alf::read_and_compile_rules(setup.wrapper, info, [&](const std::string &text) { report.warning(text); });
    setup.backend = alf::choose_backend(setup.wrapper, setup.access, info);
    return setup;
}

struct LoadedFilter {
    alf::FilterObject object;
    alf::FilterBytes bytes;
};

// Compiles (or takes from the cache, or reads) and loads the filter, then
// fills its maps and rule tables: alfwrapper's pipeline up to the attach.
LoadedFilter load_filter(const alf::CtlOptions &options, Setup &setup, const alf::Reporter &report) {
    auto info = [&](const std::string &text) { report.info(text); };
    auto builder = make_builder(options, report, alf::Optimization::fast, setup.access.delegated());
    alf::FilterBytes bytes = builder.obtain();
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;
    // Checked and encoded against the object before load, written after.
    auto opened = alf::FilterObject::open(bytes.object, options.filter);
    alf::require_rules_for_subnets(setup.wrapper, setup.rules, bytes.origin == alf::FilterBytes::Origin::builtin);
    auto inputs = alf::FilterInputs::prepare(opened, setup.wrapper, std::move(setup.rules), info);
    auto filter = builder.load(bytes, options.program, [&](alf::FilterObject &object) { inputs.apply_sizes(object); });
    inputs.write(filter, info);
    return {std::move(filter), std::move(bytes)};
}

// The rules as the classic BPF program alfwrapper would attach, checked by
// the kernel (which needs no privileges).
alf::ClassicRules classic_program(const Setup &setup, const alf::Reporter &report) {
    alf::ClassicRules classic = alf::compile_rules_classic(setup.rules.rules, setup.rules.compiled);
    alf::check_classic(classic.program);
    report.info("classic BPF program: " + std::to_string(classic.program.instructions.size()) +
                " instructions, accepted by the kernel");
    return classic;
}

int run_check_classic(const alf::CtlOptions &options, const Setup &setup, const alf::Reporter &report) {
    alf::ClassicRules classic = classic_program(setup, report);
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

int run_check(const alf::CtlOptions &options, const alf::Reporter &report) {
    Setup setup = set_up(options, report);
    if (setup.backend == alf::Backend::classic) return run_check_classic(options, setup, report);
    auto [filter, bytes] = load_filter(options, setup, report);
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

std::vector<TestCase> collect_test_cases(const alf::CtlOptions &options) {
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
            if (test.frame.size() < 14) test.frame.resize(14, 0);
            cases.push_back(std::move(test));
        }
    }
    return cases;
}

int run_test(const alf::CtlOptions &options, const alf::Reporter &report) {
    std::vector<TestCase> cases = collect_test_cases(options);
    Setup setup = set_up(options, report);
    // The program that judges: the loaded eBPF filter in the kernel, or the
    // classic program in the interpreter of its semantics.
    std::optional<LoadedFilter> loaded;
    std::optional<alf::ClassicRules> classic;
    std::function<alf::FrameRun(std::span<const std::uint8_t>)> judge;
    std::string program_name;
    if (setup.backend == alf::Backend::classic) {
        classic = classic_program(setup, report);
        judge = [&](std::span<const std::uint8_t> frame) {
            return alf::judge_frame(alf::test_classic(classic->program, frame), frame.size());
        };
        program_name = "classic";
    } else {
        loaded.emplace(load_filter(options, setup, report));
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

int run(int argc, char **argv, alf::Reporter &report) {
    alf::CtlOptions options = alf::parse_ctl_command_line(argc, argv);
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
    case alf::CtlVerb::none: break;
    }
    std::cout << alf::ctl_usage_text(alf::CtlVerb::none);
    return alf::exit_usage;
}

}  // namespace

int main(int argc, char **argv) {
    alf::Reporter report{.program = "alfctl"};
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
