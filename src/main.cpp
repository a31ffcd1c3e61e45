// alfwrapper: give one service its own firewall, then get out of the way.
#include "cli.hpp"
#include "error.hpp"
#include "filter_source.hpp"
#include "handoff.hpp"
#include "loader.hpp"
#include "map_entries.hpp"
#include "rule_tables.hpp"
#include "rules.hpp"
#include "sockets.hpp"

#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <set>

namespace {

bool stderr_wants_color() {
    const char *term = std::getenv("TERM");
    return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") && term && std::string(term) != "dumb";
}

struct Reporter {
    bool verbose = false;
    bool quiet = false;
    void info(const std::string &text) const {
        if (verbose) std::cerr << "alfwrapper: " << text << "\n";
    }
    void warning(const std::string &text) const {
        if (!quiet) std::cerr << "alfwrapper: warning: " << text << "\n";
    }
};

// Milliseconds since `start`, for verbose output.
std::string ms_since(std::chrono::steady_clock::time_point start) {
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms", ms);
    return text;
}

void report_rules(const Reporter &report, const alf::RuleSet &rules, const alf::CompiledRules &compiled,
                  const std::string &read_time, const std::string &compile_time) {
    for (const auto &warning : rules.warnings) report.warning(warning);
    if (rules.empty()) return;
    report.info("rules: " + std::to_string(compiled.ipv4_rules) + " IPv4, " + std::to_string(compiled.ipv6_rules) +
                " IPv6, read in " + read_time + "; compiled to " + std::to_string(compiled.ipv4_ranges) + " + " +
                std::to_string(compiled.ipv6_ranges) + " address ranges in " + compile_time + "; peers no rule covers: " +
                (compiled.default_verdict == alf::Verdict::allow ? "admitted" : "refused"));
    const auto &r = compiled.report;
    if (r.duplicates + r.ties + r.nested)
        report.info("rules: " + std::to_string(r.duplicates) + " duplicate, " + std::to_string(r.ties) +
                    " tied (deny wins), " + std::to_string(r.nested) + " inside a less specific rule");
    for (const auto &example : r.examples) report.info("  " + example);
}

void print_maps(const alf::FilterObject &filter) {
    for (const auto &m : filter.maps())
        std::cout << m.name << ": " << m.type << ", key " << m.key_type << " (" << m.key_size << " bytes), value "
                  << m.value_type << " (" << m.value_size << " bytes), max_entries " << m.max_entries << "\n";
}

int run(int argc, char **argv, Reporter &report) {
    alf::Options options = alf::parse_command_line(argc, argv);
    report.verbose = options.verbose;
    report.quiet = options.quiet;
    if (options.help) {
        std::cout << alf::usage_text();
        return 0;
    }
    if (options.version) {
        std::cout << "alfwrapper " << ALF_VERSION << "\n";
        return 0;
    }
    std::string program_path;
    if (!options.list_maps) program_path = alf::resolve_program(options.command.front());

    auto rules_start = std::chrono::steady_clock::now();
    alf::RuleSet rules = alf::read_rules(options.allow, options.deny, options.rules_files);
    std::string read_time = ms_since(rules_start);
    auto compile_start = std::chrono::steady_clock::now();
    alf::CompiledRules compiled_rules = alf::compile_rules(rules);
    report_rules(report, rules, compiled_rules, read_time, ms_since(compile_start));

    alf::ListenSpec spec = alf::seed_listen_spec(options.address, options.port, options.type);
    std::vector<alf::Socket> sockets;
    if (!options.list_maps) sockets.push_back(alf::create_socket(spec));

    alf::FilterSource source{options.filter, options.defines, options.include_dirs};
    alf::FilterBytes bytes = alf::obtain_filter_object(source, stderr_wants_color());
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;
    if (bytes.compiled) report.info("compiled " + options.filter + " in " + std::to_string(bytes.compile_ms) + " ms");

    auto filter = alf::FilterObject::open(bytes.object, options.filter);
    std::set<std::string> user_sized = alf::apply_map_sizes(filter, options.map_sizes);
    if (!rules.empty() && !alf::filter_takes_rules(filter))
        throw alf::Error("filter " + options.filter + " does not take --allow/--deny/--rules-file rules: include "
                         "<alfwrapper/rules.h> in it and call alf_rules_decide(), or leave out the filter to use the "
                         "built-in 'subnets'");
    if (rules.empty() && bytes.builtin && options.filter == "subnets" && !options.list_maps)
        throw alf::Error("filter subnets needs rules: give --allow CIDR, --deny CIDR or --rules-file PATH");
    if (alf::filter_takes_rules(filter)) alf::size_rule_tables(filter, compiled_rules, user_sized);
    if (options.list_maps) {
        print_maps(filter);
        return 0;
    }
    filter.load(options.program);
    report.info("loaded program '" + filter.program_name() + "' (" + std::to_string(filter.program_instructions()) +
                " instructions)");
    if (alf::filter_takes_rules(filter)) {
        auto write_start = std::chrono::steady_clock::now();
        alf::write_rule_tables(filter, rules, compiled_rules);
        report.info("rules: tables written in " + ms_since(write_start));
    }
    for (const auto &[map, count] : alf::apply_map_settings(filter, [&] {
             std::vector<alf::MapSetting> settings;
             for (const auto &s : options.sets) settings.push_back(alf::parse_map_setting(s));
             return settings;
         }()))
        report.info("map " + map + ": " + std::to_string(count) + " entries set");

    for (auto &socket : sockets) {
        alf::attach_locked(socket, filter.program_fd());
        alf::bind_and_listen(socket, spec);
        report.info(socket.description + ": filter attached and locked, listening");
    }

    if (options.dry_run) {
        std::cout << "would start: " << program_path;
        for (std::size_t i = 1; i < options.command.size(); ++i) std::cout << " " << options.command[i];
        std::cout << "\n";
        for (std::size_t i = 0; i < sockets.size(); ++i)
            std::cout << "fd " << 3 + i << ": " << sockets[i].description << " (name " << sockets[i].name << ")\n";
        std::cout << "filter: " << options.filter << ", program " << filter.program_name() << "\n";
        return 0;
    }
    alf::exec_service({std::move(sockets), options.command, {}});
}

}  // namespace

int main(int argc, char **argv) {
    Reporter report;
    try {
        return run(argc, argv, report);
    } catch (const alf::Error &e) {
        std::cerr << "alfwrapper: " << e.what() << "\n";
        if (report.verbose && !e.detail().empty()) std::cerr << e.detail();
        return e.exit_status();
    } catch (const std::exception &e) {
        std::cerr << "alfwrapper: internal error: " << e.what() << "\n";
        return alf::exit_system;
    }
}
