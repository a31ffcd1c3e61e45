// alfctl: the workbench for filter authors. compile, check, test.
#include "ctl_cli.hpp"
#include "error.hpp"
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
#include <iostream>

namespace {

alf::FilterBuilder make_builder(const alf::CtlOptions &options, const alf::Reporter &report,
                                alf::Optimization optimization) {
    return alf::FilterBuilder({options.filter, options.defines, options.include_dirs},
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

// The map entries of the command line, as alfwrapper takes them; every other
// source of map entries (declarative rules) belongs here too, so that check
// and test see the filter exactly as alfwrapper would run it.
std::vector<alf::MapSetting> map_settings(const alf::CtlOptions &options) {
    std::vector<alf::MapSetting> settings;
    for (const auto &s : options.sets) settings.push_back(alf::parse_map_setting(s));
    return settings;
}

struct LoadedFilter {
    alf::FilterObject object;
    alf::FilterBytes bytes;
};

// Compiles (or takes from the cache, or reads) and loads the filter, then
// fills its maps: alfwrapper's pipeline up to the attach.
LoadedFilter load_filter(const alf::CtlOptions &options, const alf::Reporter &report) {
    auto builder = make_builder(options, report, alf::Optimization::fast);
    alf::FilterBytes bytes = builder.obtain();
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;
    // Encoded and checked against the object before load, written after.
    std::vector<alf::EncodedMap> entries;
    auto settings = map_settings(options);
    auto filter = builder.load(bytes, options.program, [&](alf::FilterObject &object) {
        entries = alf::encode_map_settings(object, settings, {});
    });
    alf::write_map_entries(filter, entries);
    for (const auto &map : entries)
        report.info("map " + map.name + ": " + std::to_string(map.keys.size()) + " entries set");
    return {std::move(filter), std::move(bytes)};
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
    auto [filter, bytes] = load_filter(options, report);
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
    auto [filter, bytes] = load_filter(options, report);
    bool all_matched = true;
    nlohmann::json results = nlohmann::json::array();
    for (const auto &test : cases) {
        alf::FrameRun run = alf::with_context("packet " + test.description, [&] {
            return alf::run_frame(filter.program_fd(), test.frame);
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
                                    {"program", filter.program_name()},
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
