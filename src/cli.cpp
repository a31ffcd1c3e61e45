#include "cli.hpp"

#include "config.hpp"
#include "error.hpp"

// cxxopts splits repeatable values on commas by default; --set values contain commas.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include <algorithm>

namespace alf {

namespace {

struct OptionDef {
    const char *short_name;  // "" when none
    const char *long_name;
    const char *arg;         // nullptr for flags
    const char *help;
};

// One table drives cxxopts and the split between our options and PROGRAM's.
const OptionDef option_table[] = {
    {"f", "filter", "FILE|NAME", "filter: a C source (.c), a compiled BPF object (.o), or the name of a built-in "
                                 "filter (private, ratelimit, knocking, ...; see filters/README.md)"},
    {"", "address", "ADDR", "address to listen on (default ::, IPv4 and IPv6)"},
    {"", "port", "PORT", "port to listen on (default 4242)"},
    {"", "type", "TYPE", "SOCK_STREAM (default) or SOCK_DGRAM"},
    {"l", "listen", "SPEC", "a socket to open (repeatable, in order), e.g. tcp:8080, udp4:127.0.0.1:53, "
                            "unix:/run/app.sock; see below"},
    {"", "inherit", nullptr, "filter the sockets alfwrapper was started with (LISTEN_FDS) and pass them on first"},
    {"", "fdname", "NAME[:NAME...]", "names for the sockets created here without name=, in order (repeatable)"},
    {"E", "setenv", "VAR[=VALUE]", "set VAR for PROGRAM; without =VALUE, copy it from alfwrapper's environment "
                                   "(repeatable)"},
    {"u", "user", "USER", "run PROGRAM as USER (name or uid) with USER's groups, no capabilities, no_new_privs"},
    {"g", "group", "GROUP", "run PROGRAM with primary group GROUP (name or gid)"},
    {"", "set", "MAP,KEY,VALUE", "put an entry into one of the filter's maps (repeatable); KEY and VALUE are "
                                 "parsed by the map's BTF types, e.g. allow4,0,10.0.0.0/8"},
    {"", "set-file", "MAP=PATH", "put many entries into a map (repeatable): lines 'KEY [VALUE]' ('#' comments) "
                                 "or a JSON array of [key, value] pairs or {\"key\":..,\"value\":..} objects"},
    {"", "map-size", "MAP=N", "set a map's max entries before the filter is loaded (repeatable)"},
    {"", "allow", "CIDR", "admit peers from this network (repeatable; IPv4 or IPv6, a bare address is a host); "
                          "selects the built-in filter 'subnets' when no filter is named"},
    {"", "deny", "CIDR", "refuse peers from this network (repeatable); the most specific rule wins, a tie denies, "
                         "and when any allow rule exists unmatched peers are refused"},
    {"", "rules-file", "PATH", "read rules from a file (repeatable): lines 'allow CIDR' or 'deny CIDR', '#' comments"},
    {"", "classic", nullptr, "compile the rules to classic BPF, which needs no privileges (datagram and Unix "
                             "sockets; about 1400 rules fit); without --classic or --ebpf alfwrapper picks what it may"},
    {"", "ebpf", nullptr, "load the filter as eBPF (needs root or CAP_BPF; the default when allowed)"},
    {"", "config", "FILE.json", "read settings from a JSON file; the command line overrides it"},
    {"D", "define", "NAME[=VALUE]", "define a macro for the filter compiler (repeatable)"},
    {"I", "include", "DIR", "add a directory to the filter's include path (repeatable)"},
    {"", "program", "NAME", "the program in the object to attach (default: 'filter', or the only one)"},
    {"", "list-maps", nullptr, "print the filter's maps as C declarations, with their types and sizes, and exit"},
    {"", "no-cache", nullptr, "compile the filter even if the compile cache holds it, and do not cache it"},
    {"", "cache-dir", "DIR", "keep compiled filters in DIR (default $XDG_CACHE_HOME/alfwrapper or "
                             "~/.cache/alfwrapper)"},
    {"", "dry-run", nullptr, "do everything but start PROGRAM; print what would be handed over"},
    {"", "json", nullptr, "with --dry-run: print JSON"},
    {"v", "verbose", nullptr, "say what happens at each step (and show whole verifier logs)"},
    {"q", "quiet", nullptr, "print only errors"},
    {"h", "help", nullptr, "show this help and exit"},
    {"", "version", nullptr, "show the version and exit"},
};

const OptionDef *find_option(std::string_view arg) {
    for (const auto &def : option_table) {
        if (arg.starts_with("--")) {
            std::string_view name = arg.substr(2, arg.find('=') == std::string_view::npos ? std::string_view::npos
                                                                                         : arg.find('=') - 2);
            if (name == def.long_name) return &def;
        } else if (arg.size() >= 2 && def.short_name[0] && arg[1] == def.short_name[0]) {
            return &def;
        }
    }
    return nullptr;
}

const OptionDef *find_long_option(std::string_view name) {
    for (const auto &def : option_table)
        if (name == def.long_name) return &def;
    return nullptr;
}

bool is_repeatable(const OptionDef &def) { return std::string_view(def.help).find("repeatable") != std::string_view::npos; }

// What a config file key may be: every long option but these.
OptionKind config_option_kind(std::string_view name) {
    const OptionDef *def = find_long_option(name);
    if (!def || name == "config" || name == "help" || name == "version") return OptionKind::unknown;
    if (!def->arg) return OptionKind::flag;
    return is_repeatable(*def) ? OptionKind::list : OptionKind::value;
}

bool is_filter_file(const std::string &arg) { return arg.ends_with(".c") || arg.ends_with(".o"); }

cxxopts::Options make_parser() {
    cxxopts::Options parser("alfwrapper", "");
    for (const auto &def : option_table) {
        std::string spec = def.short_name[0] ? std::string(def.short_name) + "," + def.long_name : def.long_name;
        if (def.arg) {
            if (is_repeatable(def))
                parser.add_options()(spec, def.help, cxxopts::value<std::vector<std::string>>(), def.arg);
            else
                parser.add_options()(spec, def.help, cxxopts::value<std::string>(), def.arg);
        } else {
            parser.add_options()(spec, def.help);
        }
    }
    return parser;
}

}  // namespace

std::string usage_text() {
    std::string text =
        "Usage: alfwrapper [OPTION]... [FILTER] [--] PROGRAM [ARGUMENT]...\n"
        "Give PROGRAM its own firewall: open its listening sockets (or take those\n"
        "alfwrapper was started with), compile and load the eBPF socket filter FILTER,\n"
        "attach and lock it on every socket, then execute PROGRAM with the sockets as\n"
        "fds 3, 4, ... (systemd socket activation: LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).\n\n"
        "Options:\n";
    for (const auto &def : option_table) {
        std::string left = std::string("  ") + (def.short_name[0] ? std::string("-") + def.short_name + ", " : "    ") +
                           "--" + def.long_name + (def.arg ? std::string(" ") + def.arg : "");
        if (left.size() < 30) left.resize(30, ' ');
        else left += "\n" + std::string(30, ' ');
        text += left + def.help + "\n";
    }
    text +=
        "\nFILTER may also be given as the first argument when it ends in .c or .o.\n"
        "\nListen specs: ADDRESS is PORT (IPv6 and IPv4), IPv4:PORT, [IPv6]:PORT, [IPv6%DEVICE]:PORT or\n"
        "HOST:PORT (a host name needs the protocol in front, and one address); tcp4/udp4 mean IPv4\n"
        "only, tcp6/udp6 IPv6 only; unix:/PATH, unix:@NAME, unixdgram:... for Unix sockets.\n"
        "Options: name=NAME, backlog=N, reuseport, freebind, v6only, bindtodevice=DEVICE, and\n"
        "mode=0660 for Unix socket files. Without --listen and --inherit alfwrapper listens on\n"
        "--address/--port (default [::]:4242); --fdname names that socket.\n"
        "\nExamples:\n"
        "  alfwrapper --port 4242 filters/whitelist-private.c examples/echod.sh\n"
        "  alfwrapper --set allow4,0,10.0.0.0/8 --set allow6,0,::1/128 filters/whitelist.c -- myserver --flag\n"
        "  alfwrapper -l tcp:80,name=http -l tcp:443,name=https -l udp4:127.0.0.1:53 -u www-data \\\n"
        "      filters/whitelist-private.c -- myserver\n"
        "  systemd-socket-activate -l 8080 alfwrapper --inherit filters/whitelist-private.c -- myserver\n"
        "  alfwrapper --allow 10.0.0.0/8 --deny 10.9.0.0/16 --allow 2001:db8::/32 -- myserver\n"
        "  alfwrapper --config myserver.json\n"
        "\nExit status: PROGRAM's own once started; before that 0 for --dry-run, --help and\n"
        "--version, 1 for a usage or input error, 2 for a system error, 126 if PROGRAM\n"
        "cannot be executed, 127 if it is not found. PROGRAM is never started unfiltered.\n";
    return text;
}

Options parse_command_line(int argc, const char *const argv[]) {
    // Split our options from PROGRAM and its arguments: the first argument that
    // is neither an option nor a filter file starts the command.
    std::vector<std::string> ours = {argc > 0 ? argv[0] : "alfwrapper"};
    Options options;
    int i = 1;
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg.size() > 1 && arg[0] == '-') {
            const OptionDef *def = find_option(arg);
            if (!def) throw Error("unknown option '" + arg + "' (see alfwrapper --help)");
            ours.push_back(arg);
            bool attached = arg.starts_with("--") ? arg.find('=') != std::string::npos : arg.size() > 2;
            if (def->arg && !attached) {
                if (i + 1 >= argc) throw Error("option '" + arg + "' needs a value: " + def->arg);
                ours.push_back(argv[++i]);
            }
            continue;
        }
        if (options.filter.empty() && is_filter_file(arg) &&
            std::none_of(ours.begin(), ours.end(), [](auto &a) { return a == "-f" || a.starts_with("--filter") || (a.starts_with("-f") && a.size() > 2); })) {
            options.filter = arg;
            continue;
        }
        break;
    }
    for (; i < argc; ++i) options.command.push_back(argv[i]);

    auto parse = [](const std::vector<std::string> &args) {
        auto parser = make_parser();
        std::vector<const char *> raw;
        for (const auto &a : args) raw.push_back(a.c_str());
        try {
            return parser.parse(static_cast<int>(raw.size()), raw.data());
        } catch (const cxxopts::exceptions::exception &e) {
            throw Error(std::string(e.what()) + " (see alfwrapper --help)");
        }
    };
    cxxopts::ParseResult result = parse(ours);
    if (result.count("config")) {
        // The file's settings come first, each unless the command line gives it.
        options.config = result["config"].as<std::string>();
        ConfigSettings settings = read_config(options.config, config_option_kind);
        std::vector<std::string> merged = {ours.front()};
        for (const auto &[name, values] : settings.options) {
            if (result.count(name) || (name == "filter" && !options.filter.empty())) continue;
            if (find_long_option(name)->arg == nullptr) merged.push_back("--" + name);
            for (const auto &value : values) merged.push_back("--" + name + "=" + value);
        }
        merged.insert(merged.end(), ours.begin() + 1, ours.end());
        result = with_context("config " + options.config, [&] { return parse(merged); });
        options.map_entries = std::move(settings.map_entries);
        if (options.command.empty()) options.command = std::move(settings.command);
    }
    auto get = [&](const char *name, std::string &out) {
        if (result.count(name)) out = result[name].as<std::string>();
    };
    auto get_all = [&](const char *name, std::vector<std::string> &out) {
        if (result.count(name)) out = result[name].as<std::vector<std::string>>();
    };
    if (result.count("filter")) {
        if (!options.filter.empty()) throw Error("two filters given: " + options.filter + " and -f " + result["filter"].as<std::string>());
        options.filter = result["filter"].as<std::string>();
    }
    get("address", options.address);
    get("port", options.port);
    get("type", options.type);
    options.seed_socket = result.count("address") || result.count("port") || result.count("type");
    get_all("listen", options.listens);
    options.inherit = result.count("inherit") > 0;
    get_all("fdname", options.fdnames);
    get_all("setenv", options.setenv);
    get("user", options.user);
    get("group", options.group);
    options.json = result.count("json") > 0;
    get("program", options.program);
    get("cache-dir", options.cache_dir);
    get_all("set", options.sets);
    get_all("set-file", options.set_files);
    get_all("map-size", options.map_sizes);
    get_all("allow", options.allow);
    get_all("deny", options.deny);
    get_all("rules-file", options.rules_files);
    get_all("define", options.defines);
    get_all("include", options.include_dirs);
    options.classic = result.count("classic") > 0;
    options.ebpf = result.count("ebpf") > 0;
    options.dry_run = result.count("dry-run") > 0;
    options.list_maps = result.count("list-maps") > 0;
    options.no_cache = result.count("no-cache") > 0;
    options.verbose = result.count("verbose") > 0;
    options.quiet = result.count("quiet") > 0;
    options.help = result.count("help") > 0;
    options.version = result.count("version") > 0;

    if (options.help || options.version) return options;
    bool rules_only = options.filter.empty() &&
                      !(options.allow.empty() && options.deny.empty() && options.rules_files.empty());
    if (rules_only) options.filter = "subnets";
    if (options.filter.empty())
        throw Error("no filter given: name a .c or .o file or a built-in filter (-f private), or give "
                    "--allow/--deny rules, e.g. alfwrapper filters/whitelist-private.c PROGRAM "
                    "(see alfwrapper --help)");
    if (options.command.empty() && !options.list_maps)
        throw Error("no PROGRAM given: name the service to start after the filter, e.g. alfwrapper " +
                    std::string(rules_only ? "--allow 10.0.0.0/8 --" : options.filter) +
                    " examples/echod.sh (see alfwrapper --help)");
    return options;
}

}  // namespace alf
