// alfwrapper: give one service its own firewall, then get out of the way.
#include "cli.hpp"
#include "error.hpp"
#include "filter_source.hpp"
#include "handoff.hpp"
#include "map_listing.hpp"
#include "loader.hpp"
#include "filter_inputs.hpp"
#include "sockets.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

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
    auto info = [&](const std::string &text) { report.info(text); };
    alf::CompiledRuleSet rules =
        alf::read_and_compile_rules(options, info, [&](const std::string &text) { report.warning(text); });

    alf::ListenSpec spec = alf::seed_listen_spec(options.address, options.port, options.type);
    std::vector<alf::Socket> sockets;
    if (!options.list_maps) sockets.push_back(alf::create_socket(spec));

    alf::FilterSource source{options.filter, options.defines, options.include_dirs};
    alf::FilterBytes bytes = alf::obtain_filter_object(source, stderr_wants_color());
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;
    if (bytes.compiled) report.info("compiled " + options.filter + " in " + std::to_string(bytes.compile_ms) + " ms");

    auto filter = alf::FilterObject::open(bytes.object, options.filter);
    if (rules.rules.empty() && bytes.builtin && options.filter == "subnets" && !options.list_maps)
        throw alf::Error("filter subnets needs rules: give --allow CIDR, --deny CIDR or --rules-file PATH");
    auto inputs = alf::FilterInputs::prepare(filter, options, std::move(rules), info);
    if (options.list_maps) {
        std::cout << alf::describe_maps(filter);
        return 0;
    }
    filter.load(options.program);
    report.info("loaded program '" + filter.program_name() + "' (" + std::to_string(filter.program_instructions()) +
                " instructions)");
    inputs.write(filter, info);

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
        std::cout << alf::describe_maps(filter);
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
