#include "cli/option_table.hpp"

#include "common/error.hpp"
#include "common/json_input.hpp"

namespace alf {

namespace {

const OptionDef options[] = {
    {"f", "filter", "FILE|NAME", false, for_all & ~for_list,
     "the filter: a C source (.c), a compiled BPF object (.o), or the name of a built-in filter (private, "
     "ratelimit, knocking, ...: see --list-filters)"},
    {"o", "output", "FILE", false, for_compile, "where to write the object (default: the source's name with .o, here)"},
    {"", "address", "ADDR", false, for_wrapper, "address to listen on (default ::, IPv4 and IPv6)"},
    {"", "port", "PORT", false, for_wrapper, "port to listen on (default 4242)"},
    {"", "type", "TYPE", false, for_wrapper, "SOCK_STREAM (default) or SOCK_DGRAM"},
    {"l", "listen", "SPEC", true, for_wrapper,
     "a socket to open, in order, e.g. tcp:8080, udp4:127.0.0.1:53, unix:/run/app.sock; see below"},
    {"", "inherit", nullptr, false, for_wrapper,
     "filter the sockets alfwrapper was started with (LISTEN_FDS) and pass them on first"},
    {"", "fdname", "NAME[:NAME...]", true, for_wrapper, "names for the sockets created here without name=, in order"},
    {"E", "setenv", "VAR[=VALUE]", true, for_wrapper,
     "set VAR for PROGRAM; without =VALUE, copy it from alfwrapper's environment"},
    {"u", "user", "USER", false, for_wrapper,
     "run PROGRAM as USER (name or uid) with USER's groups, no capabilities, no_new_privs"},
    {"g", "group", "GROUP", false, for_wrapper, "run PROGRAM with primary group GROUP (name or gid)"},
    {"", "set", "MAP,KEY,VALUE", true, for_wrapper | for_loading,
     "put an entry into one of the filter's maps; KEY and VALUE are parsed by the map's BTF types, e.g. "
     "allow4,0,10.0.0.0/8"},
    {"", "set-file", "MAP=PATH", true, for_wrapper | for_loading,
     "put many entries into a map: lines 'KEY [VALUE]' ('#' comments) or a JSON array of [key, value] pairs or "
     "{\"key\":..,\"value\":..} objects"},
    {"", "map-size", "MAP=N", true, for_wrapper | for_loading, "set a map's max entries before the filter is loaded"},
    {"", "allow", "CIDR", true, for_wrapper | for_loading | for_rules,
     "admit peers from this network (IPv4 or IPv6, a bare address is a host); selects the built-in filter "
     "'subnets' when no filter is named"},
    {"", "deny", "CIDR", true, for_wrapper | for_loading | for_rules,
     "refuse peers from this network; the most specific rule wins, a tie denies, and when any allow rule exists "
     "unmatched peers are refused"},
    {"", "rules-file", "PATH", true, for_wrapper | for_loading | for_rules,
     "read rules from a file: lines 'allow CIDR' or 'deny CIDR', '#' comments"},
    {"", "log-rate", "N", false, for_wrapper | for_loading,
     "drops the filter writes into its log a second at most, for alfctl log (default 100; 0: no log)"},
    {"", "rule-hits", nullptr, false, for_wrapper | for_loading,
     "count the packets each rule decides, for alfctl stats --rules (8 bytes a table entry on each CPU)"},
    {"", "classic", nullptr, false, for_wrapper | for_loading,
     "compile the rules to classic BPF, which needs no privileges (datagram and Unix sockets; about 1400 rules "
     "fit; with CAP_BPF also TCP, translated to eBPF); without --classic or --ebpf the back end is what the "
     "privileges allow"},
    {"", "ebpf", nullptr, false, for_wrapper | for_loading,
     "load the filter as eBPF (needs root or CAP_BPF; the default when allowed)"},
    {"", "config", "FILE.json", false, for_wrapper, "read settings from a JSON file; the command line overrides it"},
    {"", "name", "NAME", false, for_wrapper,
     "the name alfctl knows the running service by (default: the systemd unit's name, else PROGRAM's base name)"},
    {"D", "define", "NAME[=VALUE]", true, for_all & ~for_list, "define a macro for the filter compiler"},
    {"I", "include", "DIR", true, for_all & ~for_list, "add a directory to the filter's include path"},
    {"", "program", "NAME", false, for_wrapper | for_loading,
     "the program in the object to attach (default: 'filter', or the only socket program)"},
    {"", "list-maps", nullptr, false, for_wrapper,
     "print the filter's maps as C declarations, with their types and sizes, and exit"},
    {"", "list-filters", nullptr, false, for_wrapper,
     "print the built-in filters (the filter library), what each does and its maps, and exit"},
    {"", "pcap", "FILE", false, for_test, "also run the filter on every packet of a capture (pcap or pcapng)"},
    {"", "expect", "VERDICT", false, for_test,
     "pass or drop: exit with status 3 unless every packet gets this verdict (a packet's own expect= wins)"},
    {"", "no-cache", nullptr, false, for_all & ~for_list,
     "compile the filter even if the compile cache holds it, and do not cache it"},
    {"", "cache-dir", "DIR", false, for_all & ~for_list,
     "keep compiled filters in DIR (default $XDG_CACHE_HOME/alfwrapper or ~/.cache/alfwrapper)"},
    {"", "dry-run", nullptr, false, for_wrapper, "do everything but start PROGRAM; print what would be handed over"},
    {"", "json", nullptr, false, for_wrapper, "with --dry-run: print JSON"},
    {"", "json", nullptr, false, for_test | for_list | for_live, "print JSON (alfctl log: one object a line)"},
    {"", "watch", "SECONDS", false, for_stats, "print the counters again every SECONDS, as the change since the last print"},
    {"", "rules", "N", false, for_stats,
     "also show the N rules that decided the most packets (the service started with alfwrapper --rule-hits)"},
    {"", "follow", nullptr, false, for_log, "go on printing drops as they are logged, until interrupted"},
    {"v", "verbose", nullptr, false, for_all | for_live, "say what happens at each step (and show whole verifier logs)"},
    {"q", "quiet", nullptr, false, for_all | for_live, "print only errors"},
    {"h", "help", nullptr, false, for_all | for_filters | for_headers | for_live, "show this help and exit"},
    {"", "version", nullptr, false, for_wrapper, "show the version and exit"},
};

bool is_for(const OptionDef &def, unsigned tool) { return (def.tools & tool) != 0; }

}  // namespace

std::span<const OptionDef> option_table() { return options; }

const OptionDef *find_long_option(std::string_view name, unsigned tool) {
    for (const auto &def : options)
        if (is_for(def, tool) && name == def.long_name) return &def;
    return nullptr;
}

const OptionDef *find_option(std::string_view argument, unsigned tool) {
    if (argument.starts_with("--")) {
        std::string_view name = argument.substr(2, argument.find('=') == std::string_view::npos ? std::string_view::npos
                                                                                : argument.find('=') - 2);
        return find_long_option(name, tool);
    }
    if (argument.size() < 2 || argument[0] != '-') return nullptr;
    for (const auto &def : options) {
        if (!is_for(def, tool) || !def.short_name[0] || argument[1] != def.short_name[0]) continue;
        // "-fX" is -f with its value attached; "-vq" is two flags.
        if (!def.argument)
            for (char c : argument.substr(2)) {
                const OptionDef *next = find_option(std::string("-") + c, tool);
                if (!next || next->argument) return nullptr;
            }
        return &def;
    }
    return nullptr;
}

bool value_attached(std::string_view argument) {
    return argument.starts_with("--") ? argument.find('=') != std::string_view::npos : argument.size() > 2;
}

std::string option_help(unsigned tool) {
    std::string text;
    for (const auto &def : options) {
        if (!is_for(def, tool)) continue;
        std::string left = std::string("  ") + (def.short_name[0] ? std::string("-") + def.short_name + ", " : "    ") +
                           "--" + def.long_name + (def.argument ? std::string(" ") + def.argument : "");
        if (left.size() < 30) left.resize(30, ' ');
        else left += "\n" + std::string(30, ' ');
        text += left + def.help + (def.repeatable ? " (repeatable)" : "") + "\n";
    }
    return text;
}

ParsedOptions::ParsedOptions(unsigned tool, const std::vector<std::string> &arguments, bool positional,
                             const std::string &usage_hint) {
    auto refuse = [&](const std::string &what) { throw Error(what + " (" + usage_hint + ")"); };
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string &argument = arguments[i];
        bool is_option = argument.size() > 1 && argument[0] == '-';
        if (argument == "--") {
            for (++i; i < arguments.size(); ++i) {
                if (!positional) refuse("unexpected argument '" + quote_input(arguments[i]) + "'");
                positional_.push_back(arguments[i]);
            }
            break;
        }
        if (!is_option) {
            if (!positional) refuse("unexpected argument '" + quote_input(argument) + "'");
            positional_.push_back(argument);
            continue;
        }
        std::string_view spelled = argument.starts_with("--") ? std::string_view(argument).substr(0, argument.find('='))
                                                              : std::string_view(argument).substr(0, 2);
        const OptionDef *def = find_option(argument, tool);
        if (!def) {
            bool elsewhere = argument.starts_with("--") ? find_long_option(spelled.substr(2), for_all) != nullptr
                                                        : find_option(argument, for_all) != nullptr;
            refuse((elsewhere ? "option '" + quote_input(spelled) + "' does not apply here"
                              : "unknown option '" + quote_input(spelled) + "'"));
        }
        std::string name = def->long_name;
        if (!def->argument) {
            if (argument.starts_with("--") && argument.find('=') != std::string::npos)
                refuse("option '--" + name + "' takes no value");
            values_[name].push_back("");
            // "-vq": every letter a flag (find_option checked them).
            if (!argument.starts_with("--"))
                for (char letter : argument.substr(2)) values_[find_option(std::string("-") + letter, tool)->long_name].push_back("");
            continue;
        }
        std::string value;
        if (value_attached(argument)) {
            value = argument.starts_with("--") ? argument.substr(argument.find('=') + 1) : argument.substr(2);
        } else {
            if (i + 1 >= arguments.size()) refuse("option '" + std::string(spelled) + "' needs a value: " + def->argument);
            value = arguments[++i];
        }
        values_[name].push_back(std::move(value));
    }
}

bool ParsedOptions::has(std::string_view name) const { return values_.find(name) != values_.end(); }

void ParsedOptions::get(std::string_view name, std::string &out) const {
    if (auto it = values_.find(name); it != values_.end()) out = it->second.back();
}

void ParsedOptions::get(std::string_view name, std::vector<std::string> &out) const {
    if (auto it = values_.find(name); it != values_.end()) out = it->second;
}

void read_configuration(const ParsedOptions &options, Configuration &config) {
    InputSettings &inputs = config.inputs;
    SocketSettings &sockets = config.sockets;
    const std::pair<const char *, std::string *> values[] = {
        {"filter", &config.filter}, {"program", &config.program}, {"cache-dir", &config.cache_dir},
        {"address", &sockets.address}, {"port", &sockets.port}, {"type", &sockets.type},
        {"user", &config.user}, {"group", &config.group}, {"name", &config.name},
        {"log-rate", &inputs.log_rate},
    };
    const std::pair<const char *, std::vector<std::string> *> lists[] = {
        {"define", &config.defines}, {"include", &config.include_dirs}, {"set", &inputs.sets},
        {"set-file", &inputs.set_files}, {"map-size", &inputs.map_sizes}, {"allow", &inputs.allow},
        {"deny", &inputs.deny}, {"rules-file", &inputs.rules_files}, {"listen", &sockets.listens},
        {"fdname", &sockets.fdnames}, {"setenv", &config.setenv},
    };
    const std::pair<const char *, bool *> flags[] = {
        {"no-cache", &config.no_cache}, {"classic", &config.classic}, {"ebpf", &config.ebpf},
        {"inherit", &sockets.inherit}, {"rule-hits", &inputs.rule_hits}, {"dry-run", &config.dry_run}, {"list-maps", &config.list_maps},
        {"list-filters", &config.list_filters},
        {"json", &config.json}, {"verbose", &config.verbose}, {"quiet", &config.quiet},
        {"help", &config.help}, {"version", &config.version},
    };
    for (auto [name, field] : values) options.get(name, *field);
    for (auto [name, field] : lists) options.get(name, *field);
    for (auto [name, field] : flags) *field = options.has(name);
    sockets.seed_socket = options.has("address") || options.has("port") || options.has("type");
}

}  // namespace alf
