#include "cli/wrapper_cli.hpp"

#include "cli/config_file.hpp"
#include "cli/option_table.hpp"
#include "common/error.hpp"


namespace alf {

namespace {

bool is_filter_file(const std::string &arg) { return arg.ends_with(".c") || arg.ends_with(".o"); }

// What a config file key may be: every long option of alfwrapper but these.
OptionKind config_option_kind(std::string_view name) {
    const OptionDef *def = find_long_option(name, for_wrapper);
    if (!def || name == "config" || name == "help" || name == "version" || name == "list-filters")
        return OptionKind::unknown;
    if (!def->argument) return OptionKind::flag;
    return def->repeatable ? OptionKind::list : OptionKind::value;
}

const std::string usage_hint = "see alfwrapper --help";

}  // namespace

std::string wrapper_usage_text() {
    std::string text =
        "Usage: alfwrapper [OPTION]... [FILTER] [--] PROGRAM [ARGUMENT]...\n"
        "Give PROGRAM its own firewall: open its listening sockets (or take those\n"
        "alfwrapper was started with), compile and load the eBPF socket filter FILTER,\n"
        "attach and lock it on every socket, then execute PROGRAM with the sockets as\n"
        "fds 3, 4, ... (systemd socket activation: LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).\n\n"
        "Options:\n";
    text += option_help(for_wrapper);
    text +=
        "\nFILTER may also be given as the first argument when it ends in .c or .o.\n"
        "\nListen specs: ADDRESS is PORT (IPv6 and IPv4), IPv4:PORT, [IPv6]:PORT, [IPv6%DEVICE]:PORT or\n"
        "HOST:PORT (a host name needs the protocol in front, and one address); tcp4/udp4 mean IPv4\n"
        "only, tcp6/udp6 IPv6 only; unix:/PATH, unix:@NAME, unixdgram:... for Unix sockets.\n"
        "Options: name=NAME, backlog=N, reuseport, freebind, v6only, bindtodevice=DEVICE, and\n"
        "mode=0660 for Unix socket files. Without --listen and --inherit alfwrapper listens on\n"
        "--address/--port (default [::]:4242); --fdname names that socket.\n"
        "\nExamples:\n"
        "  alfwrapper --port 4242 -f private -- myserver\n"
        "  alfwrapper -f whitelist --set allow4,0,10.0.0.0/8 --set allow6,0,::1/128 -- myserver --flag\n"
        "  alfwrapper -l tcp:80,name=http -l tcp:443,name=https -l udp4:127.0.0.1:53 -u www-data \\\n"
        "      -f private -- myserver\n"
        "  systemd-socket-activate -l 8080 alfwrapper --inherit -f private -- myserver\n"
        "  alfwrapper --allow 10.0.0.0/8 --deny 10.9.0.0/16 --allow 2001:db8::/32 -- myserver\n"
        "  alfwrapper --port 8080 myfilter.c -- myserver\n"
        "  alfwrapper --config myserver.json\n"
        "\nThe filter library: alfwrapper --list-filters. Writing a filter: man alfwrapper-filter.\n"
        "The whole manual: man alfwrapper; the workbench for filters: alfctl --help.\n"
        "\nExit status: PROGRAM's own once started; before that 0 for --dry-run, --help and\n"
        "--version, 1 for a usage or input error, 2 for a system error, 126 if PROGRAM\n"
        "cannot be executed, 127 if it is not found. PROGRAM is never started unfiltered.\n";
    return text;
}

Configuration parse_wrapper_command_line(int argc, const char *const argv[]) {
    // Split our options from PROGRAM and its arguments: the first argument that
    // is neither an option nor a filter file starts the command.
    std::vector<std::string> ours;
    Configuration config;
    bool filter_option = false;
    int i = 1;
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg.size() > 1 && arg[0] == '-') {
            const OptionDef *def = find_option(arg, for_wrapper);
            if (!def) throw Error("unknown option '" + arg + "' (" + usage_hint + ")");
            filter_option = filter_option || def->long_name == std::string_view("filter");
            ours.push_back(arg);
            if (def->argument && !value_attached(arg)) {
                if (i + 1 >= argc) throw Error("option '" + arg + "' needs a value: " + def->argument);
                ours.push_back(argv[++i]);
            }
            continue;
        }
        if (config.filter.empty() && is_filter_file(arg) && !filter_option) {
            config.filter = arg;
            continue;
        }
        break;
    }
    for (; i < argc; ++i) config.command.push_back(argv[i]);

    ParsedOptions parsed(for_wrapper, ours, false, usage_hint);
    if (parsed.has("config")) {
        // The file's settings come first, each unless the command line gives it.
        parsed.get("config", config.config_file);
        ConfigSettings settings = read_config(config.config_file, config_option_kind);
        std::vector<std::string> merged;
        for (const auto &[name, values] : settings.options) {
            if (parsed.has(name.c_str()) || (name == "filter" && !config.filter.empty())) continue;
            if (find_long_option(name, for_wrapper)->argument == nullptr) merged.push_back("--" + name);
            for (const auto &value : values) merged.push_back("--" + name + "=" + value);
        }
        merged.insert(merged.end(), ours.begin(), ours.end());
        parsed = with_context("config " + config.config_file,
                              [&] { return ParsedOptions(for_wrapper, merged, false, usage_hint); });
        config.inputs.map_entries = std::move(settings.map_entries);
        if (config.command.empty()) config.command = std::move(settings.command);
    }
    std::string positional_filter = std::move(config.filter);
    read_configuration(parsed, config);
    if (!positional_filter.empty()) {
        if (!config.filter.empty())
            throw Error("two filters given: " + positional_filter + " and -f " + config.filter);
        config.filter = std::move(positional_filter);
    }

    if (config.help || config.version || config.list_filters) return config;
    if (parsed.has("program") && config.program.empty())
        throw Error("--program: give the name of the program to attach (" + usage_hint + ")");
    const SocketSettings &sockets = config.sockets;
    if (!sockets.listens.empty() && sockets.seed_socket && !parsed.has("port"))
        throw Error("--type and --address describe the socket of --port (default 4242), which alfwrapper would open "
                    "beside the --listen ones: give the protocol and address in the listen spec (e.g. -l "
                    "udp:[::1]:53), or --port for a socket of its own (" + usage_hint + ")");
    bool rules_only = config.filter.empty() && config.inputs.has_rules();
    if (rules_only) config.filter = "subnets";
    if (config.filter.empty())
        throw Error("no filter given: name a .c or .o file or a built-in filter (-f private), or give "
                    "--allow/--deny rules, e.g. alfwrapper -f private PROGRAM "
                    "(" + usage_hint + ")");
    if (config.command.empty() && !config.list_maps)
        throw Error("no PROGRAM given: name the service to start after the filter, e.g. alfwrapper " +
                    (rules_only ? std::string("--allow 10.0.0.0/8") : "-f " + config.filter) +
                    " -- myserver (" + usage_hint + ")");
    return config;
}

}  // namespace alf
