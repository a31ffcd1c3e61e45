// alfwrapper: give one service its own firewall, then get out of the way.
#include "bpf_access.hpp"
#include "classic_rules.hpp"
#include "cli.hpp"
#include "dry_run.hpp"
#include "error.hpp"
#include "filter_inputs.hpp"
#include "filter_source.hpp"
#include "handoff.hpp"
#include "inherit.hpp"
#include "loader.hpp"
#include "map_listing.hpp"
#include "privileges.hpp"
#include "report.hpp"
#include "sockets.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

using alf::Reporter;

// Inherited sockets first, then the seed form's socket (when asked for, or when
// nothing else is), then --listen's, in order; created unbound.
std::vector<alf::Socket> open_sockets(const alf::Options &options) {
    std::vector<alf::Socket> sockets;
    if (options.inherit) sockets = alf::inherit_sockets();
    std::vector<alf::ListenSpec> specs;
    if (options.seed_socket || (options.listens.empty() && !options.inherit))
        specs.push_back(alf::seed_listen_spec(options.address, options.port, options.type));
    for (const auto &text : options.listens) specs.push_back(alf::parse_listen_spec(text));
    alf::apply_fd_names(specs, alf::parse_fd_names(options.fdnames));
    for (const auto &spec : specs) sockets.push_back(alf::create_socket(spec));
    return sockets;
}

// Attaches and locks a filter on every socket, then binds the ones created here.
template <typename Attach>
void attach_all(std::vector<alf::Socket> &sockets, const Reporter &report, Attach attach) {
    for (auto &socket : sockets) {
        attach(socket);
        if (!socket.inherited()) {
            alf::bind_and_listen(socket);
        } else if (auto discarded = alf::discard_unfiltered_backlog(socket)) {
            report.warning(socket.description + ": " + std::to_string(discarded) +
                           (socket.type == SOCK_DGRAM ? " datagram(s) discarded" : " connection(s) reset") +
                           ": they arrived before the filter was attached");
        }
        report.info(socket.description + ": filter attached and locked");
        // Attached, but never run: the user should not believe this socket filtered.
        if (socket.family == AF_UNIX && socket.type != SOCK_DGRAM)
            report.warning(socket.description + ": the kernel runs no socket filter on Unix stream connections; "
                           "only the socket file's mode (mode=0660) guards who connects");
    }
}

// The rules as a classic BPF program, attached to every socket.
alf::FilterSummary attach_classic(const alf::CompiledRuleSet &rules, const alf::BpfAccess &access,
                                  std::vector<alf::Socket> &sockets, const Reporter &report) {
    alf::ClassicRules classic = alf::compile_rules_classic(rules.rules, rules.compiled);
    const auto &program = classic.program.instructions;
    report.info("classic BPF program: " + std::to_string(program.size()) + " instructions (of " +
                std::to_string(alf::classic_max_instructions) + "), " + std::to_string(classic.ipv4_segments) +
                " IPv4 and " + std::to_string(classic.ipv6_segments) + " IPv6 address segments");
    std::string if_tcp_refused = alf::classic_on_tcp_refused(access);
    attach_all(sockets, report,
               [&](const alf::Socket &socket) { alf::attach_classic_locked(socket, program, if_tcp_refused); });
    return {"subnets", "", "classic BPF", static_cast<std::uint32_t>(program.size()), {}};
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
    alf::BpfAccess access = alf::assess_bpf_access();
    alf::require_trusted_inputs(options, access);
    std::string program_path;
    if (!options.list_maps) program_path = alf::resolve_program(options.command.front());
    auto info = [&](const std::string &text) { report.info(text); };
    alf::CompiledRuleSet rules =
        alf::read_and_compile_rules(options, info, [&](const std::string &text) { report.warning(text); });

    std::vector<alf::Socket> sockets;
    if (!options.list_maps) sockets = open_sockets(options);
    auto credentials = alf::resolve_credentials(options.user, options.group);
    auto environment = alf::parse_setenv(options.setenv);

    alf::FilterSummary summary;
    if (!options.list_maps && alf::choose_backend(options, access, info) == alf::Backend::classic) {
        summary = attach_classic(rules, access, sockets, report);
    } else {
        alf::FilterBuilder builder({options.filter, options.defines, options.include_dirs, access.delegated()},
                                   {.color = alf::stderr_wants_color(), .use_cache = !options.no_cache,
                                    .cache_dir = options.cache_dir},
                                   report.messages());
        alf::FilterBytes bytes = builder.obtain();
        if (!bytes.warnings.empty() && !options.quiet) std::cerr << bytes.warnings;

        // Checked and encoded against the object before anything is loaded.
        auto opened = alf::FilterObject::open(bytes.object, options.filter);
        alf::require_rules_for_subnets(options, rules, bytes.origin == alf::FilterBytes::Origin::builtin);
        auto inputs = alf::FilterInputs::prepare(opened, options, std::move(rules), info);
        if (options.list_maps) {
            std::cout << alf::describe_maps(opened);
            return 0;
        }
        auto filter =
            builder.load(bytes, options.program, [&](alf::FilterObject &object) { inputs.apply_sizes(object); });
        report.info("loaded program '" + filter.program_name() + "' (" + std::to_string(filter.program_instructions()) +
                    " instructions)");
        inputs.write(filter, info);
        attach_all(sockets, report, [&](const alf::Socket &socket) { alf::attach_locked(socket, filter.program_fd()); });
        summary = alf::summarize_filter(filter);
    }

    alf::HandOff handoff{std::move(sockets), options.command, std::move(environment), std::move(credentials)};
    if (options.dry_run) {
        alf::print_dry_run(std::cout, handoff, program_path, summary, options.json);
        return 0;
    }
    alf::exec_service(std::move(handoff));
}

}  // namespace

int main(int argc, char **argv) {
    alf::Reporter report;
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
