#include "cli.hpp"

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
    {"f", "filter", "FILE", "filter: a C source (.c) or a compiled BPF object (.o)"},
    {"", "address", "ADDR", "address to listen on (default ::, IPv4 and IPv6)"},
    {"", "port", "PORT", "port to listen on (default 4242)"},
    {"", "type", "TYPE", "SOCK_STREAM (default) or SOCK_DGRAM"},
    {"", "set", "MAP,KEY,VALUE", "put an entry into one of the filter's maps (repeatable); KEY and VALUE are "
                                 "parsed by the map's BTF types, e.g. allow4,0,10.0.0.0/8"},
    {"D", "define", "NAME[=VALUE]", "define a macro for the filter compiler (repeatable)"},
    {"I", "include", "DIR", "add a directory to the filter's include path (repeatable)"},
    {"", "program", "NAME", "the program in the object to attach (default: 'filter', or the only one)"},
    {"", "list-maps", nullptr, "print the filter's maps with their types and exit"},
    {"", "no-cache", nullptr, "compile the filter even if the compile cache holds it, and do not cache it"},
    {"", "cache-dir", "DIR", "keep compiled filters in DIR (default $XDG_CACHE_HOME/alfwrapper or "
                             "~/.cache/alfwrapper)"},
    {"", "dry-run", nullptr, "do everything but start PROGRAM; print what would be handed over"},
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

bool is_filter_file(const std::string &arg) { return arg.ends_with(".c") || arg.ends_with(".o"); }

cxxopts::Options make_parser() {
    cxxopts::Options parser("alfwrapper", "");
    for (const auto &def : option_table) {
        std::string spec = def.short_name[0] ? std::string(def.short_name) + "," + def.long_name : def.long_name;
        if (def.arg) {
            bool repeatable = std::string_view(def.help).find("repeatable") != std::string_view::npos;
            if (repeatable)
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
        "Give PROGRAM its own firewall: open its listening socket, compile and load the\n"
        "eBPF socket filter FILTER, attach and lock it on the socket, then execute\n"
        "PROGRAM with the socket as fd 3 (systemd socket activation: LISTEN_FDS,\n"
        "LISTEN_PID, LISTEN_FDNAMES).\n\n"
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
        "\nExamples:\n"
        "  alfwrapper --port 4242 filters/whitelist-private.c examples/echod.sh\n"
        "  alfwrapper --set allow4,0,10.0.0.0/8 --set allow6,0,::1/128 filters/whitelist.c -- myserver --flag\n"
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

    auto parser = make_parser();
    std::vector<const char *> raw;
    for (const auto &a : ours) raw.push_back(a.c_str());
    cxxopts::ParseResult result;
    try {
        result = parser.parse(static_cast<int>(raw.size()), raw.data());
    } catch (const cxxopts::exceptions::exception &e) {
        throw Error(std::string(e.what()) + " (see alfwrapper --help)");
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
    get("program", options.program);
    get("cache-dir", options.cache_dir);
    get_all("set", options.sets);
    get_all("define", options.defines);
    get_all("include", options.include_dirs);
    options.dry_run = result.count("dry-run") > 0;
    options.list_maps = result.count("list-maps") > 0;
    options.no_cache = result.count("no-cache") > 0;
    options.verbose = result.count("verbose") > 0;
    options.quiet = result.count("quiet") > 0;
    options.help = result.count("help") > 0;
    options.version = result.count("version") > 0;

    if (options.help || options.version) return options;
    if (options.filter.empty())
        throw Error("no filter given: name a .c or .o file, e.g. alfwrapper filters/whitelist-private.c PROGRAM "
                    "(see alfwrapper --help)");
    if (options.command.empty() && !options.list_maps)
        throw Error("no PROGRAM given: name the service to start, e.g. alfwrapper " + options.filter +
                    " examples/echod.sh (see alfwrapper --help)");
    return options;
}

}  // namespace alf
