#include "cli/ctl_cli.hpp"

#include "cli/option_table.hpp"
#include "common/error.hpp"


#include <string_view>

namespace alf {

namespace {

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
     "check it, which needs no privileges; with CAP_BPF, also its eBPF\n"
     "translation, which alfwrapper attaches to TCP sockets without CAP_NET_ADMIN.\n"},
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
    {CtlVerb::list, "list", "alfctl list [NAME] [--json]",
     "list the filters alfwrapper attached that run on this host",
     "Finds every filter alfwrapper attached in the kernel itself (each carries a\n"
     "record of its service), so nothing is kept on disk and nothing goes stale:\n"
     "when a service's sockets are gone, so is its entry. Shows the service's\n"
     "name (alfwrapper --name; by default the systemd unit's or the program's),\n"
     "its pid (the service's: alfwrapper executes it in place; 'exited' when the\n"
     "service is gone but its sockets are kept, as by a socket unit), the filter,\n"
     "the sockets, the entries in each map, and when the filter was loaded. With\n"
     "NAME, only the services of that name. Needs root (CAP_SYS_ADMIN and CAP_BPF\n"
     "to find programs by id).\n"},
    {CtlVerb::rules, "rules",
     "alfctl rules NAME show | allow CIDR... | deny CIDR... | remove CIDR... | replace [--rules-file F]... "
     "[--allow CIDR]... [--deny CIDR]...",
     "show or change the rules of a running service, without restarting it",
     "NAME is the service's name or pid, as alfctl list shows them. The rules are\n"
     "those of --allow, --deny and --rules-file (the built-in filter 'subnets', or\n"
     "any filter that includes <alfwrapper/rules.h>):\n"
     "\n"
     "  show            the rules in force, the default for peers no rule covers,\n"
     "                  and how full the tables are\n"
     "  allow CIDR...   admit these networks (a rule of the same prefix is replaced)\n"
     "  deny CIDR...    refuse these networks (likewise)\n"
     "  remove CIDR...  take out the rules of exactly these prefixes\n"
     "  replace         put the rules of --rules-file, --allow and --deny in place of\n"
     "                  all of them\n"
     "\n"
     "Every change is atomic: it is written beside the rule set in force, then\n"
     "published by one store, so each packet is judged by the old set or the new\n"
     "one, never a mixture, and no connection is reset. allow, deny and remove\n"
     "rewrite only the ranges of the prefixes they name (milliseconds, among a\n"
     "million rules too); replace writes the whole set. When anything is wrong (a\n"
     "CIDR that does not parse, a remove of a rule that is not there, a set larger\n"
     "than the tables sized at launch) nothing changes.\n"
     "Changes last while the service's filter does: put them into the service's\n"
     "rules file too, or they are gone when its socket is created anew. A classic\n"
     "BPF filter cannot change once attached: restart the service instead. Needs\n"
     "root (CAP_SYS_ADMIN and CAP_BPF).\n"
     "\n"
     "  alfctl rules web deny 203.0.113.7\n"
     "  alfctl rules web replace --rules-file /etc/web/rules.txt\n"},
    {CtlVerb::stats, "stats", "alfctl stats NAME [--rules N] [--watch SECONDS] [--json]",
     "show what a running service's filter passed and dropped",
     "Packets and bytes passed and dropped, for IPv4 and IPv6, TCP and UDP (and\n"
     "other), counted by the filter itself since it was loaded, and how many drops\n"
     "its log took or left out over its rate. NAME is the service's name or pid,\n"
     "as alfctl list shows them. The built-in filters count; a filter of your own\n"
     "counts by returning its verdicts through alf_verdict() (man\n"
     "alfwrapper-filter). Bytes are as the socket sees them: on a TCP or UDP\n"
     "socket the transport segment, without the IP header. With --watch, the\n"
     "counts again every SECONDS, each time what changed since the last.\n"
     "With --rules N, also the N rules that decided the most packets (and the\n"
     "default, for peers no rule covers), for a service started with alfwrapper\n"
     "--rule-hits. A rule's count restarts when a change rewrites its part of\n"
     "the tables: alfctl rules replace restarts them all, allow, deny and remove\n"
     "the rules next to the prefixes they name.\n"
     "Needs root (CAP_SYS_ADMIN and CAP_BPF).\n"
     "\n"
     "  alfctl stats web --rules 10\n"},
    {CtlVerb::log, "log", "alfctl log NAME [--follow] [--json]",
     "show the drops a running service's filter logged",
     "Each logged drop: the time, the verdict, the protocol, the peer's address\n"
     "and port, the local address and port, and for a filter with rules the rule\n"
     "that decides for that peer now (or the default). The filter keeps the\n"
     "latest 256 drops of each CPU and logs at most --log-rate drops a second\n"
     "(alfwrapper's option, default 100; drops over it are only counted, and\n"
     "alfctl log prints how many). Reading the log takes nothing from it: two\n"
     "readers see the same drops. With --follow, new drops as they come, until\n"
     "interrupted; with --json, one JSON object a line.\n"
     "Needs root (CAP_SYS_ADMIN and CAP_BPF).\n"},
    {CtlVerb::map, "map",
     "alfctl map NAME [MAP [dump | get KEY | set KEY [VALUE] | delete KEY]] [--json]",
     "list, read or change the maps of a running service's filter",
     "NAME is the service's name or pid, as alfctl list shows them. Alone, it lists\n"
     "the filter's maps: their types, key and value types (from BTF) and entries.\n"
     "\n"
     "  MAP [dump]         every entry, a 'KEY VALUE' line each (what --set-file\n"
     "                     reads), after a comment describing the map\n"
     "  MAP get KEY        the value of KEY\n"
     "  MAP set KEY VALUE  put an entry in (or replace it); without VALUE, the\n"
     "                     default the filter declares (ALF_MAP_DEFAULT_VALUE)\n"
     "  MAP delete KEY     take an entry out (an array's entries always exist:\n"
     "                     its entry is set to zeros)\n"
     "\n"
     "KEY and VALUE are written as in --set MAP,KEY,VALUE and parsed by the map's\n"
     "BTF types: numbers, enumerator names, addresses, subnets (10.0.0.0/8), ports,\n"
     "interface names, strings for char arrays, JSON for structs and arrays, and\n"
     "the typed form (uint32_t:0, subnet4:10.0.0.0/8). Values are shown the same\n"
     "way; --json shows them as JSON. A per-CPU map's integers (and structs of\n"
     "them, field by field) are shown as their sum over the CPUs (--json also\n"
     "lists each CPU's), other values as a list, a CPU each; set writes such a\n"
     "value to the first CPU and zeros to the others, so that the sum is the value\n"
     "given, and other values to every CPU. A KEY or VALUE that starts with '-'\n"
     "goes after '--'.\n"
     "\n"
     "Bad input changes nothing: a KEY or VALUE not of the map's type, a set into a\n"
     "full map, a get or delete of a key that is not there (exit status 1). The\n"
     "maps alfwrapper fills or reads itself are read-only here: the rule tables\n"
     "(alf_rules4, alf_rules6, alf_rules_state, alf_rule_list: alfctl rules changes\n"
     "them), the counters (alf_stats: alfctl stats) and the drop log (alf_log,\n"
     "alf_log_state: alfctl log), its record of the service (alf_meta) and the\n"
     "filter's global data (.rodata, .data, .bss). Changes last while the\n"
     "service's filter does: put them into the service's command line too, or\n"
     "they are gone when its socket is created anew. Needs root (CAP_SYS_ADMIN and\n"
     "CAP_BPF).\n"
     "\n"
     "  alfctl map web\n"
     "  alfctl map web allow4 set 1 192.0.2.0/24\n"
     "  alfctl map web allow4 dump --json\n"},
    {CtlVerb::filters, "filters", "alfctl filters", "list the built-in filters, what each does and its maps",
     "The filters built into alfwrapper (its filter library), each with its maps;\n"
     "alfwrapper -f NAME --list-maps shows a map's key and value types. Their\n"
     "sources are installed with alfwrapper, to read or to copy and change.\n"},
    {CtlVerb::headers, "headers", "alfctl headers [DIRECTORY]",
     "set up an editor for filters: the headers' path, and compile_flags.txt",
     "Prints the directory of the installed filter headers (<alfwrapper/filter.h>\n"
     "and the libbpf-style names), the ones built into alfwrapper, and writes\n"
     "compile_flags.txt into DIRECTORY (default: here) with the flags alfwrapper\n"
     "compiles filters with, so that clangd (and editors using it) completes and\n"
     "checks the filters there as alfwrapper would compile them. An existing\n"
     "compile_flags.txt with other content is left alone: remove it first.\n"},
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

unsigned tool_of(CtlVerb verb) {
    switch (verb) {
    case CtlVerb::compile: return for_compile;
    case CtlVerb::check: return for_check;
    case CtlVerb::test: return for_test;
    case CtlVerb::list: return for_list;
    case CtlVerb::rules: return for_rules;
    case CtlVerb::stats: return for_stats;
    case CtlVerb::log: return for_log;
    case CtlVerb::map: return for_map;
    case CtlVerb::filters: return for_filters;
    case CtlVerb::headers: return for_headers;
    case CtlVerb::none: break;
    }
    return 0;
}

// "compile, check, test, filters or headers"
std::string verb_names() {
    std::string names;
    for (std::size_t i = 0; i < std::size(verb_table); ++i)
        names += (i == 0 ? "" : i + 1 == std::size(verb_table) ? " or " : ", ") + std::string(verb_table[i].name);
    return names;
}

// A packet's first word is its protocol; a filter is a path or a name.
bool starts_a_packet(std::string_view argument) {
    std::string_view word = argument.substr(0, argument.find(' '));
    return word == "tcp" || word == "udp";
}

}  // namespace

std::string ctl_usage_text(CtlVerb verb) {
    if (verb == CtlVerb::none) {
        std::string text =
            "Usage: alfctl VERB [OPTION]... [FILTER|NAME] [ARGUMENT]...\n"
            "The workbench for alfwrapper's socket filters (compile them, check what the\n"
            "kernel makes of them, run them on packets) and the operator's tool for the\n"
            "services running under alfwrapper (list them, see what their filters count\n"
            "and drop, change their rules while they run).\n\n"
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
            "  alfctl compile myfilter.c -o myfilter.o\n"
            "  alfctl check -f whitelist --set allow4,0,10.0.0.0/8\n"
            "  alfctl test -f private 'tcp 10.1.2.3:40000 > [::]:4242' 'udp [2001:db8::1]:53000 > [::]:53'\n"
            "  alfctl test --classic --allow 10.0.0.0/8 'udp 10.1.2.3:5000 > 0.0.0.0:53'\n"
            "  alfctl rules web deny 203.0.113.0/24\n"
            "  alfctl stats web --watch 1\n"
            "  alfctl log web --follow\n"
            "  alfctl map web allow4 set 1 192.0.2.0/24\n"
            "  alfctl headers ~/myfilters\n"
            "\nThe manual: man alfctl; writing a filter: man alfwrapper-filter.\n";
        return text;
    }
    const VerbDef &def = verb_def(verb);
    return std::string("Usage: ") + def.synopsis + "\n" + def.summary + ".\n\n" + def.details + "\nOptions:\n" +
           option_help(tool_of(verb));
}

CtlCommand parse_ctl_command_line(int argc, const char *const argv[]) {
    CtlCommand options;
    if (argc < 2) throw Error("no verb given: " + verb_names() + " (see alfctl --help)");
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
    // Flags may come before the verb too (alfctl -v rules web show); they
    // are read with the verb's own options, as if given after it.
    std::vector<std::string> leading;
    int at = 1;
    for (; at < argc; ++at) {
        std::string_view word = argv[at];
        if (word != "-v" && word != "--verbose" && word != "-q" && word != "--quiet" && word != "--json") break;
        leading.emplace_back(word);
    }
    if (at == argc) throw Error("no verb given: " + verb_names() + " (see alfctl --help)");
    first = argv[at];
    const VerbDef *verb = find_verb(first);
    if (!verb) {
        std::string what = first.starts_with("-") ? "option '" + std::string(first) + "' before the verb (options go after it)"
                                                  : "unknown verb '" + std::string(first) + "'";
        throw Error(what + ": expected " + verb_names() + " (see alfctl --help)");
    }
    options.verb = verb->verb;
    std::string usage_hint = std::string("see alfctl ") + verb->name + " --help";

    std::vector<std::string> arguments_after(argv + at + 1, argv + argc);
    arguments_after.insert(arguments_after.begin(), leading.begin(), leading.end());
    ParsedOptions parsed(tool_of(options.verb), arguments_after, true, usage_hint);
    read_configuration(parsed, options);
    std::vector<std::string> arguments = parsed.positional();
    parsed.get("output", options.output);
    parsed.get("pcap", options.pcap);
    if (parsed.has("expect")) {
        options.expect.emplace();
        parsed.get("expect", *options.expect);
    }
    if (options.help) return options;
    if (options.verb == CtlVerb::list) {
        if (arguments.size() > 1) throw Error("unexpected argument '" + arguments[1] + "' (" + usage_hint + ")");
        if (!arguments.empty()) options.service = arguments.front();
        return options;
    }
    if (options.verb == CtlVerb::rules) {
        if (arguments.empty()) throw Error("no service named: alfctl rules NAME ACTION (" + usage_hint + ")");
        options.service = arguments.front();
        options.action.assign(arguments.begin() + 1, arguments.end());
        if (options.action.empty()) options.action.push_back("show");
        return options;
    }
    if (options.verb == CtlVerb::stats || options.verb == CtlVerb::log) {
        parsed.get("watch", options.watch);
        parsed.get("rules", options.top_rules);
        options.follow = parsed.has("follow");
        if (arguments.empty()) throw Error(std::string("no service named: alfctl ") + verb->name + " NAME (" + usage_hint + ")");
        if (arguments.size() > 1) throw Error("unexpected argument '" + arguments[1] + "' (" + usage_hint + ")");
        options.service = arguments.front();
        return options;
    }
    if (options.verb == CtlVerb::map) {
        if (arguments.empty()) throw Error("no service named: alfctl map NAME [MAP ACTION] (" + usage_hint + ")");
        options.service = arguments.front();
        options.action.assign(arguments.begin() + 1, arguments.end());
        return options;
    }
    if (options.verb == CtlVerb::filters || options.verb == CtlVerb::headers) {
        std::size_t most = options.verb == CtlVerb::headers ? 1 : 0;
        if (arguments.size() > most) throw Error("unexpected argument '" + arguments[most] + "' (" + usage_hint + ")");
        if (!arguments.empty()) options.output = arguments.front();
        return options;
    }

    bool has_rules = options.inputs.has_rules();
    if (!options.filter.empty()) {
        // -f named it: every argument is a packet.
    } else if (arguments.empty() || (options.verb == CtlVerb::test && starts_a_packet(arguments.front()))) {
        if (!has_rules)
            throw Error("no filter given: name one, or give --allow, --deny or --rules-file rules for the built-in "
                        "'subnets' (" + usage_hint + ")");
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
        throw Error("unexpected argument '" + arguments.front() + "' (" + usage_hint + ")");
    }
    if (options.verb == CtlVerb::compile && !options.filter.ends_with(".c"))
        throw Error("alfctl compile takes a C source (.c), not " + options.filter);
    return options;
}

}  // namespace alf
