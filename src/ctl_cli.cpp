#include "ctl_cli.hpp"

#include "error.hpp"

// As in cli.cpp: repeatable values are not split on commas (--set has them).
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include <string_view>

namespace alf {

namespace {

enum VerbMask : unsigned {
    for_compile = 1u << static_cast<unsigned>(CtlVerb::compile),
    for_check = 1u << static_cast<unsigned>(CtlVerb::check),
    for_test = 1u << static_cast<unsigned>(CtlVerb::test),
    for_loading = for_check | for_test,
    for_all = for_compile | for_check | for_test,
};

struct CtlOptionDef {
    const char *short_name;  // "" when none
    const char *long_name;
    const char *arg;         // nullptr for flags
    const char *help;
    unsigned verbs;
    bool repeatable = false;
};

// One table: the parser and every verb's help are made from it.
const CtlOptionDef option_table[] = {
    {"o", "output", "FILE", "where to write the object (default: the source's name with .o, here)", for_compile},
    {"", "set", "MAP,KEY,VALUE", "put an entry into one of the filter's maps, as alfwrapper --set", for_loading, true},
    {"", "program", "NAME", "the program to load (default: 'filter', or the only socket program)", for_loading},
    {"", "set-file", "MAP=PATH", "put many entries into a map, as alfwrapper --set-file", for_loading, true},
    {"", "map-size", "MAP=N", "set a map's max entries before the filter is loaded", for_loading, true},
    {"", "allow", "CIDR", "admit peers from this network, as alfwrapper --allow; without FILTER the "
                          "filter is the built-in 'subnets'", for_loading, true},
    {"", "deny", "CIDR", "refuse peers from this network, as alfwrapper --deny", for_loading, true},
    {"", "rules-file", "PATH", "read allow/deny rules from a file, as alfwrapper --rules-file", for_loading, true},
    {"", "classic", nullptr, "compile the rules to classic BPF, as alfwrapper --classic (needs no "
                             "privileges); chosen by itself when eBPF cannot be loaded", for_loading},
    {"", "ebpf", nullptr, "load the filter as eBPF (needs root or CAP_BPF)", for_loading},
    {"", "pcap", "FILE", "also run the filter on every packet of a capture (pcap or pcapng)", for_test},
    {"", "expect", "VERDICT", "pass or drop: exit with status 3 unless every packet gets this verdict "
                              "(a packet's own expect= wins)", for_test},
    {"", "json", nullptr, "print the verdicts as JSON", for_test},
    {"D", "define", "NAME[=VALUE]", "define a macro for the filter compiler", for_all, true},
    {"I", "include", "DIR", "add a directory to the filter's include path", for_all, true},
    {"", "no-cache", nullptr, "compile even if the compile cache holds the filter, and do not cache it", for_all},
    {"", "cache-dir", "DIR", "keep compiled filters in DIR (default $XDG_CACHE_HOME/alfwrapper or "
                             "~/.cache/alfwrapper)", for_all},
    {"v", "verbose", nullptr, "say what happens at each step (and show whole verifier logs)", for_all},
    {"q", "quiet", nullptr, "print only errors", for_all},
    {"h", "help", nullptr, "show this help and exit", for_all},
};

struct VerbDef {
    CtlVerb verb;
    const char *name;
    const char *synopsis;
    const char *summary;
    const char *details;
};

const VerbDef verb_table[] = {
    {CtlVerb::compile, "compile", "alfctl compile FILTER.c [-o OUT.o] [-D NAME[=VALUE]]... [-I DIR]...",
     "compile a filter into a BPF object (with BTF), which alfwrapper also takes",
     "The object is optimized as clang -O2 would. alfwrapper and alfctl accept it in\n"
     "place of the source: no compiler runs at launch then.\n"},
    {CtlVerb::check, "check", "alfctl check [FILTER] [--set MAP,KEY,VALUE]... [--allow CIDR]... [OPTION]...",
     "compile and load a filter, and show what the kernel accepted",
     "Loads the filter through the kernel's verifier, fills its maps as alfwrapper\n"
     "would, and lists its programs with their instruction counts, its maps with\n"
     "their key and value types, and the socket option memory it takes against\n"
     "net.core.optmem_max (every socket accepted from a filtered listener is\n"
     "charged the same). Exit status 0 only when all of it would work in\n"
     "alfwrapper.\n"
     "\n"
     "The maps and rules are given as to alfwrapper (--set, --set-file, --map-size,\n"
     "--allow, --deny, --rules-file); with rules and no FILTER the filter is the\n"
     "built-in 'subnets'. With --classic, or when eBPF cannot be loaded (no\n"
     "CAP_BPF), the rules are compiled to classic BPF as alfwrapper would: check\n"
     "prints its instruction count against the limit of 4096 and has the kernel\n"
     "check it, which needs no privileges.\n"},
    {CtlVerb::test, "test",
     "alfctl test [FILTER] [--set MAP,KEY,VALUE]... [--allow CIDR]... [--pcap FILE] [OPTION]... PACKET...",
     "run a filter on packets and print each verdict",
     "Runs the filter in the kernel (BPF_PROG_TEST_RUN) on each packet and prints\n"
     "pass or drop. A PACKET is written as you think of it, one argument or several\n"
     "words (quote the '>'):\n"
     "\n"
     "  tcp 192.0.2.7:40000 '>' [::]:4242 syn\n"
     "  'udp [2001:db8::1]:53000 > 0.0.0.0:53 len=512 expect=drop'\n"
     "\n"
     "PROTOCOL (tcp, udp) SOURCE > DESTINATION, then TCP flags (syn ack fin rst psh\n"
     "urg ece cwr, or syn,ack; no flags means a SYN, what a listening socket's\n"
     "filter judges), len=N (payload bytes), data=HEX (the payload), and\n"
     "expect=pass|drop. The packet's family is the source's: an IPv4 client of a\n"
     "dual-stack [::] socket sends IPv4 packets, as on a live socket.\n"
     "\n"
     "The maps and rules are given as to alfwrapper (--set, --set-file, --map-size,\n"
     "--allow, --deny, --rules-file). With rules, FILTER may be left out: when the\n"
     "first argument starts with a protocol word (tcp, udp) it is a packet, and\n"
     "the filter is the built-in 'subnets':\n"
     "\n"
     "  alfctl test --allow 10.0.0.0/8 'tcp 10.1.2.3:40000 > 127.0.0.1:80'\n"
     "\n"
     "With --classic, or when eBPF cannot be loaded (no CAP_BPF), the rules run\n"
     "as the classic BPF program alfwrapper would attach, without privileges.\n"
     "\n"
     "Exit status: 0 when every verdict is the expected one (or none was\n"
     "expected), 3 when one is not, 1 or 2 when something else failed.\n"},
};

const VerbDef *find_verb(std::string_view name) {
    for (const auto &verb : verb_table)
        if (name == verb.name) return &verb;
    return nullptr;
}

const VerbDef &verb_def(CtlVerb verb) {
    for (const auto &def : verb_table)
        if (def.verb == verb) return def;
    throw Error("unknown verb");
}

unsigned mask_of(CtlVerb verb) { return 1u << static_cast<unsigned>(verb); }

// A packet's first word is its protocol; a filter is a path or a name.
bool starts_a_packet(std::string_view argument) {
    std::string_view word = argument.substr(0, argument.find(' '));
    return word == "tcp" || word == "udp";
}

}  // namespace

Options wrapper_options(const CtlOptions &options) {
    Options wrapper;
    wrapper.filter = options.filter;
    wrapper.program = options.program;
    wrapper.sets = options.sets;
    wrapper.set_files = options.set_files;
    wrapper.map_sizes = options.map_sizes;
    wrapper.allow = options.allow;
    wrapper.deny = options.deny;
    wrapper.rules_files = options.rules_files;
    wrapper.defines = options.defines;
    wrapper.include_dirs = options.include_dirs;
    wrapper.cache_dir = options.cache_dir;
    wrapper.no_cache = options.no_cache;
    wrapper.classic = options.classic;
    wrapper.ebpf = options.ebpf;
    wrapper.verbose = options.verbose;
    wrapper.quiet = options.quiet;
    return wrapper;
}

std::string ctl_usage_text(CtlVerb verb) {
    if (verb == CtlVerb::none) {
        std::string text =
            "Usage: alfctl VERB [OPTION]... FILTER [ARGUMENT]...\n"
            "The workbench for alfwrapper's socket filters: compile them, check what the\n"
            "kernel makes of them, and run them on packets.\n\n"
            "Verbs:\n";
        for (const auto &def : verb_table) {
            std::string left = std::string("  ") + def.name;
            left.resize(12, ' ');
            text += left + def.summary + "\n";
        }
        text +=
            "\n"
            "  alfctl VERB --help     the verb's options\n"
            "  alfctl --version       the version\n"
            "\nExamples:\n"
            "  alfctl compile filters/whitelist.c -o whitelist.o\n"
            "  alfctl check filters/whitelist.c --set allow4,0,10.0.0.0/8\n"
            "  alfctl test filters/whitelist-private.c 'tcp 10.1.2.3:40000 > [::]:4242' "
            "'udp [2001:db8::1]:53000 > [::]:53'\n"
            "  alfctl test --classic --allow 10.0.0.0/8 'udp 10.1.2.3:5000 > 0.0.0.0:53'\n";
        return text;
    }
    const VerbDef &def = verb_def(verb);
    std::string text = std::string("Usage: ") + def.synopsis + "\n" + def.summary + ".\n\n" + def.details + "\nOptions:\n";
    for (const auto &option : option_table) {
        if (!(option.verbs & mask_of(verb))) continue;
        std::string left = std::string("  ") +
                           (option.short_name[0] ? std::string("-") + option.short_name + ", " : "    ") + "--" +
                           option.long_name + (option.arg ? std::string(" ") + option.arg : "");
        if (left.size() < 30) left.resize(30, ' ');
        else left += "\n" + std::string(30, ' ');
        text += left + option.help + (option.repeatable ? " (repeatable)" : "") + "\n";
    }
    return text;
}

CtlOptions parse_ctl_command_line(int argc, const char *const argv[]) {
    CtlOptions options;
    if (argc < 2) throw Error("no verb given: compile, check or test (see alfctl --help)");
    std::string_view first = argv[1];
    if (first == "--help" || first == "-h") {
        options.help = true;
        return options;
    }
    if (first == "--version") {
        options.version = true;
        return options;
    }
    if (first == "help") {
        options.help = true;
        if (argc > 2) {
            const VerbDef *verb = find_verb(argv[2]);
            if (!verb) throw Error(std::string("no verb named '") + argv[2] + "' (see alfctl --help)");
            options.verb = verb->verb;
        }
        return options;
    }
    const VerbDef *verb = find_verb(first);
    if (!verb) throw Error("unknown verb '" + std::string(first) + "': expected compile, check or test (see alfctl --help)");
    options.verb = verb->verb;

    cxxopts::Options parser(std::string("alfctl ") + verb->name, "");
    for (const auto &def : option_table) {
        if (!(def.verbs & mask_of(options.verb))) continue;
        std::string spec = def.short_name[0] ? std::string(def.short_name) + "," + def.long_name : def.long_name;
        if (!def.arg)
            parser.add_options()(spec, def.help);
        else if (def.repeatable)
            parser.add_options()(spec, def.help, cxxopts::value<std::vector<std::string>>(), def.arg);
        else
            parser.add_options()(spec, def.help, cxxopts::value<std::string>(), def.arg);
    }
    parser.add_options()("arguments", "", cxxopts::value<std::vector<std::string>>());
    parser.parse_positional("arguments");

    std::vector<const char *> raw = {"alfctl"};
    for (int i = 2; i < argc; ++i) raw.push_back(argv[i]);
    cxxopts::ParseResult result;
    try {
        result = parser.parse(static_cast<int>(raw.size()), raw.data());
    } catch (const cxxopts::exceptions::exception &e) {
        throw Error(std::string(e.what()) + " (see alfctl " + verb->name + " --help)");
    }
    auto get = [&](const char *name, std::string &out) {
        if (result.count(name)) out = result[name].as<std::string>();
    };
    auto get_all = [&](const char *name, std::vector<std::string> &out) {
        if (result.count(name)) out = result[name].as<std::vector<std::string>>();
    };
    auto flag = [&](const char *name) { return result.count(name) > 0; };
    std::vector<std::string> arguments;
    get_all("arguments", arguments);
    get_all("define", options.defines);
    get_all("include", options.include_dirs);
    get("cache-dir", options.cache_dir);
    options.no_cache = flag("no-cache");
    options.verbose = flag("verbose");
    options.quiet = flag("quiet");
    options.help = flag("help");
    if (options.verb == CtlVerb::compile) get("output", options.output);
    if (options.verb != CtlVerb::compile) {
        get_all("set", options.sets);
        get_all("set-file", options.set_files);
        get_all("map-size", options.map_sizes);
        get_all("allow", options.allow);
        get_all("deny", options.deny);
        get_all("rules-file", options.rules_files);
        get("program", options.program);
        options.classic = flag("classic");
        options.ebpf = flag("ebpf");
    }
    if (options.verb == CtlVerb::test) {
        get("pcap", options.pcap);
        options.json = flag("json");
        if (result.count("expect")) options.expect = result["expect"].as<std::string>();
    }
    if (options.help) return options;

    bool has_rules = !(options.allow.empty() && options.deny.empty() && options.rules_files.empty());
    if (arguments.empty() || (options.verb == CtlVerb::test && starts_a_packet(arguments.front()))) {
        if (!has_rules)
            throw Error(std::string("no filter given: name one, or give --allow, --deny or --rules-file rules for "
                                    "the built-in 'subnets' (see alfctl ") +
                        verb->name + " --help)");
        options.filter = "subnets";
    } else {
        options.filter = arguments.front();
        arguments.erase(arguments.begin());
    }
    if (options.verb == CtlVerb::test) {
        options.packets = std::move(arguments);
        if (options.packets.empty() && options.pcap.empty())
            throw Error("no packets to test: give PACKET arguments (e.g. 'tcp 192.0.2.7:40000 > [::]:4242') or "
                        "--pcap FILE (see alfctl test --help)");
        if (options.expect && *options.expect != "pass" && *options.expect != "drop")
            throw Error("--expect " + *options.expect + ": expected pass or drop");
    } else if (!arguments.empty()) {
        throw Error("unexpected argument '" + arguments.front() + "' (see alfctl " + verb->name + " --help)");
    }
    if (options.verb == CtlVerb::compile && !options.filter.ends_with(".c"))
        throw Error("alfctl compile takes a C source (.c), not " + options.filter);
    return options;
}

}  // namespace alf
