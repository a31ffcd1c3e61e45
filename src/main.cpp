// alfwrapper: give one service its own firewall, then get out of the way.
#include "classic/classic_to_ebpf.hpp"
#include "cli/wrapper_cli.hpp"
#include "common/error.hpp"
#include "common/report.hpp"
#include "common/service_name.hpp"
#include "launch/dry_run.hpp"
#include "launch/handoff.hpp"
#include "launch/privileges.hpp"
#include "launch/socket_set.hpp"
#include "pipeline/backend.hpp"
#include "pipeline/builtin_catalog.hpp"
#include "pipeline/filter_pipeline.hpp"
#include "pipeline/kept_filter.hpp"
#include "tools.hpp"

#include <unistd.h>

#include <ctime>

namespace {

int run(int argc, char **argv, alf::Reporter &report) {
    alf::Configuration config = alf::parse_wrapper_command_line(argc, argv);
    report.verbose = config.verbose;
    report.quiet = config.quiet;
    if (config.help) {
        alf::out() << alf::wrapper_usage_text();
        return 0;
    }
    if (config.version) {
        alf::out() << "alfwrapper " << ALF_VERSION << "\n";
        return 0;
    }
    if (config.list_filters) {
        alf::out() << "The built-in filters (-f NAME; -f NAME --list-maps for their maps' types):\n"
                   << alf::describe_builtin_filters();
        return 0;
    }
    alf::FilterPipeline filter(config, report);
    if (config.list_maps) {
        alf::out() << filter.describe_maps();
        return 0;
    }
    std::string program_path = alf::resolve_program(config.command.front());
    filter.read_rules();
    std::vector<alf::Socket> sockets = alf::open_sockets(config.sockets);
    auto credentials = alf::resolve_credentials(config.user, config.group);
    auto environment = alf::parse_setenv(config.setenv);

    alf::FilterSummary summary;
    if (filter.backend() == alf::Backend::classic) {
        alf::ClassicRules classic = filter.classic_program();
        std::string if_tcp_refused = alf::classic_on_tcp_refused(filter.access());
        // A TCP socket takes a classic filter only from CAP_NET_ADMIN: with
        // CAP_BPF, the program's eBPF translation goes on instead.
        alf::TranslatedClassic translated;
        if (alf::classic_as_ebpf(sockets, filter.access())) {
            translated = alf::load_classic_as_ebpf(classic.program.instructions);
            report.info("classic BPF program loaded as its eBPF translation (" +
                        std::to_string(translated.instructions) +
                        " instructions): a TCP socket takes classic BPF only from CAP_NET_ADMIN");
        }
        alf::attach_all(
            sockets, report,
            [&](const alf::Socket &socket) {
                if (translated.fd) alf::attach_locked(socket, translated.fd.get());
                else alf::attach_classic_locked(socket, classic.program.instructions, if_tcp_refused);
            },
            alf::peer_judge(classic));
        summary = translated.fd ? alf::summarize_classic(translated.instructions, true)
                                : alf::summarize_classic(classic.program.instructions.size());
    } else {
        // A socket systemd kept across a restart still carries the earlier run's filter.
        alf::KeptFilter kept = alf::find_kept_filter(sockets);
        alf::LoadedFilter loaded = filter.load(&kept, alf::common_protocol(sockets));
        alf::attach_all(
            sockets, report,
            [&](const alf::Socket &socket) {
                if (!kept.keeps(socket)) alf::attach_locked(socket, loaded.object.program_fd());
            },
            alf::peer_judge(loaded));
        alf::record_filters(loaded.object.program_fd(), kept, sockets,
                            {.name = alf::service_name(config.name, config.command),
                             .pid = getpid(),
                             .filter = config.filter,
                             .backend = "eBPF",
                             .sockets = {},
                             .loaded_at = std::time(nullptr),
                             .version = ALF_VERSION,
                             .pid_namespace = alf::own_pid_namespace(),
                             .maps = loaded.object.loaded_map_ids()});
        // For --dry-run only: counting the maps' entries costs a system call an entry.
        if (config.dry_run) summary = alf::summarize_filter(loaded.object);
    }

    alf::HandOff handoff{std::move(sockets), config.command, std::move(environment), std::move(credentials)};
    if (config.dry_run) {
        alf::print_dry_run(alf::out(), handoff, program_path, summary, config.json);
        return 0;
    }
    alf::exec_service(std::move(handoff));
}

}  // namespace

int alf::alfwrapper_main(int argc, char **argv) {
    alf::Reporter report{.program = "alfwrapper"};
    return alf::run_reporting_errors(report, [&] { return run(argc, argv, report); });
}
