// alfwrapper: give one service its own firewall, then get out of the way.
#include "cli.hpp"
#include "error.hpp"
#include "filter_source.hpp"
#include "handoff.hpp"
#include "loader.hpp"
#include "map_entries.hpp"
#include "report.hpp"
#include "sockets.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

void print_maps(const alf::FilterObject &filter) {
    for (const auto &m : filter.maps()) std::cout << alf::describe_map(m) << "\n";
}

int run(int argc, char **argv, alf::Reporter &report) {
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

    alf::ListenSpec spec = alf::seed_listen_spec(options.address, options.port, options.type);
    std::vector<alf::Socket> sockets;
    if (!options.list_maps) sockets.push_back(alf::create_socket(spec));

    alf::FilterBuilder builder({options.filter, options.defines, options.include_dirs},
                               {.color = alf::stderr_wants_color(), .use_cache = !options.no_cache,
                                .cache_dir = options.cache_dir},
                               report.messages());
    alf::FilterBytes bytes = builder.obtain();
    if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;

    if (options.list_maps) {
        print_maps(alf::FilterObject::open(bytes.object, options.filter));
        return 0;
    }
    auto filter = builder.load(bytes, options.program);
    report.info("loaded program '" + filter.program_name() + "' (" + std::to_string(filter.program_instructions()) +
                " instructions)");
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
    alf::Reporter report;
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
