#include "cli/ctl_cli.hpp"
#include "common/error.hpp"
#include "live/live_map.hpp"
#include "live/live_rules.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace alf;

namespace {
CtlCommand parse(std::vector<const char *> args) {
    args.insert(args.begin(), "alfctl");
    return parse_ctl_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("alfctl verbs and their options") {
    auto o = parse({"compile", "f.c", "-o", "out.o", "-D", "X=1", "-I", "inc", "--no-cache"});
    CHECK(o.verb == CtlVerb::compile);
    CHECK(o.filter == "f.c");
    CHECK(o.output == "out.o");
    CHECK(o.defines == std::vector<std::string>{"X=1"});
    CHECK(o.no_cache);

    o = parse({"check", "f.c", "--set", "allow4,0,10.0.0.0/8", "--set", "allow6,0,::1/128", "-v"});
    CHECK(o.verb == CtlVerb::check);
    CHECK(o.inputs.sets.size() == 2);
    CHECK(o.verbose);

    o = parse({"test", "f.o", "--json", "--expect", "drop", "tcp 10.0.0.1:1 > [::]:2", "udp", "[::1]:1", ">", "[::]:2"});
    CHECK(o.verb == CtlVerb::test);
    CHECK(o.json);
    CHECK(o.expect == "drop");
    CHECK(o.packets.size() == 5);

    o = parse({"test", "f.c", "--pcap", "x.pcap"});
    CHECK(o.pcap == "x.pcap");
}

TEST_CASE("alfctl check and test take alfwrapper's map and rule inputs") {
    auto o = parse({"check", "f.c", "--set-file", "allow4=list.txt", "--map-size", "allow4=64", "--allow",
                    "10.0.0.0/8", "--deny", "10.1.0.0/16", "--rules-file", "r.txt", "--classic"});
    CHECK(o.filter == "f.c");
    CHECK(o.inputs.set_files == std::vector<std::string>{"allow4=list.txt"});
    CHECK(o.inputs.map_sizes == std::vector<std::string>{"allow4=64"});
    CHECK(o.inputs.allow == std::vector<std::string>{"10.0.0.0/8"});
    CHECK(o.inputs.deny == std::vector<std::string>{"10.1.0.0/16"});
    CHECK(o.inputs.rules_files == std::vector<std::string>{"r.txt"});
    CHECK(o.classic);
    CHECK_FALSE(o.ebpf);
    const Configuration &wrapper = o;  // what alfwrapper would run the same filter with
    CHECK(wrapper.filter == "f.c");
    CHECK(wrapper.inputs.set_files == o.inputs.set_files);
    CHECK(wrapper.inputs.map_sizes == o.inputs.map_sizes);
    CHECK(wrapper.inputs.allow == o.inputs.allow);
    CHECK(wrapper.inputs.deny == o.inputs.deny);
    CHECK(wrapper.inputs.rules_files == o.inputs.rules_files);
    CHECK(wrapper.classic);

    // With rules and no FILTER, the filter is the built-in subnets.
    o = parse({"check", "--allow", "10.0.0.0/8", "--ebpf"});
    CHECK(o.filter == "subnets");
    CHECK(o.ebpf);
    // A first argument that starts with a protocol word is a packet.
    o = parse({"test", "--allow", "10.0.0.0/8", "tcp 10.1.2.3:40000 > 127.0.0.1:80", "udp", "[::1]:1", ">", "[::]:2"});
    CHECK(o.filter == "subnets");
    CHECK(o.packets.size() == 5);
    CHECK(o.packets.front() == "tcp 10.1.2.3:40000 > 127.0.0.1:80");
    o = parse({"test", "--deny", "::1", "udp", "[::1]:1", ">", "[::]:2"});
    CHECK(o.filter == "subnets");
    CHECK(o.packets.size() == 4);
    o = parse({"test", "--rules-file", "r.txt", "--pcap", "x.pcap"});
    CHECK(o.filter == "subnets");
    // Anything else first is the filter, rules or not.
    o = parse({"test", "--allow", "10.0.0.0/8", "my.c", "tcp 10.1.2.3:40000 > 127.0.0.1:80"});
    CHECK(o.filter == "my.c");
    CHECK(o.packets.size() == 1);
    o = parse({"test", "tcpfilter.c", "tcp 10.1.2.3:40000 > 127.0.0.1:80"});
    CHECK(o.filter == "tcpfilter.c");

    // Without rules a filter must be named.
    CHECK_THROWS_AS(parse({"check"}), Error);
    CHECK_THROWS_AS(parse({"test", "tcp 10.1.2.3:40000 > 127.0.0.1:80"}), Error);
    // Rule options belong to check and test.
    CHECK_THROWS_AS(parse({"compile", "f.c", "--allow", "10.0.0.0/8"}), Error);
    CHECK_THROWS_AS(parse({"compile", "f.c", "--classic"}), Error);
}

TEST_CASE("alfctl help and version") {
    CHECK(parse({"--help"}).help);
    CHECK(parse({"--version"}).version);
    auto o = parse({"help", "test"});
    CHECK(o.help);
    CHECK(o.verb == CtlVerb::test);
    o = parse({"check", "--help"});
    CHECK(o.help);
    CHECK(o.verb == CtlVerb::check);
    CHECK(ctl_usage_text(CtlVerb::test).find("--pcap") != std::string::npos);
    CHECK(ctl_usage_text(CtlVerb::compile).find("--pcap") == std::string::npos);
    CHECK(ctl_usage_text(CtlVerb::none).find("compile") != std::string::npos);
}

TEST_CASE("alfctl usage errors") {
    for (auto args : std::vector<std::vector<const char *>>{
             {}, {"frobnicate"}, {"compile"}, {"compile", "f.o"}, {"compile", "f.c", "extra"},
             {"check", "f.c", "--pcap", "x"}, {"test", "f.c"}, {"test", "f.c", "--expect", "maybe", "tcp"},
             {"help", "nothing"}, {"compile", "f.c", "--set", "m,1,2"}, {"-v"}, {"--json", "compile", "f.c"},
             {"-f", "f.c", "check"}}) {
        CAPTURE(args.size());
        CHECK_THROWS_AS(parse(args), Error);
    }
}

TEST_CASE("alfctl flags before the verb are the verb's own") {
    CtlCommand o = parse({"-v", "rules", "web", "deny", "10.0.0.0/8"});
    CHECK(o.verb == CtlVerb::rules);
    CHECK(o.verbose);
    CHECK(o.service == "web");
    o = parse({"--json", "-q", "stats", "web"});
    CHECK(o.verb == CtlVerb::stats);
    CHECK(o.json);
    CHECK(o.quiet);
    CHECK_THROWS_WITH_AS(parse({"-f", "f.c", "check"}), doctest::Contains("options go after it"), Error);
}

TEST_CASE("alfctl filters and headers") {
    CHECK(parse({"filters"}).verb == CtlVerb::filters);
    CHECK_THROWS_WITH_AS(parse({"filters", "private"}), doctest::Contains("unexpected argument 'private'"), Error);
    CHECK_THROWS_WITH_AS(parse({"filters", "-v"}), doctest::Contains("does not apply here"), Error);
    CHECK(parse({"filters", "--help"}).help);

    auto o = parse({"headers"});
    CHECK(o.verb == CtlVerb::headers);
    CHECK(o.output.empty());
    CHECK(parse({"headers", "src/filters"}).output == "src/filters");
    CHECK_THROWS_WITH_AS(parse({"headers", "a", "b"}), doctest::Contains("unexpected argument 'b'"), Error);
    CHECK_THROWS_WITH_AS(parse({"frob"}), doctest::Contains("compile, check, test, list, rules, stats, log, map, filters or headers"), Error);
}

TEST_CASE("alfctl rules: the service, the action and its arguments") {
    auto o = parse({"rules", "web", "deny", "192.0.2.7", "10.0.0.0/8"});
    CHECK(o.verb == CtlVerb::rules);
    CHECK(o.service == "web");
    RulesChange change = parse_rules_change(o.action, o.inputs);
    CHECK(change.action == RulesAction::deny);
    CHECK(change.cidrs == std::vector<std::string>{"192.0.2.7", "10.0.0.0/8"});

    o = parse({"rules", "web"});
    CHECK(parse_rules_change(o.action, o.inputs).action == RulesAction::show);
    o = parse({"rules", "1234", "replace", "--rules-file", "r.txt", "--deny", "::1"});
    change = parse_rules_change(o.action, o.inputs);
    CHECK(change.action == RulesAction::replace);
    CHECK(change.replacement.rules_files == std::vector<std::string>{"r.txt"});
    CHECK(change.replacement.deny == std::vector<std::string>{"::1"});

    auto refused = [](std::vector<const char *> args, const char *message) {
        auto command = parse(std::move(args));
        CHECK_THROWS_WITH_AS(parse_rules_change(command.action, command.inputs), doctest::Contains(message), Error);
    };
    refused({"rules", "web", "allow"}, "allow needs at least one CIDR");
    refused({"rules", "web", "show", "x"}, "show takes no arguments");
    refused({"rules", "web", "replace"}, "replace needs the new rules");
    refused({"rules", "web", "replace", "10.0.0.0/8"}, "not 10.0.0.0/8");
    refused({"rules", "web", "remove", "10.0.0.0/8", "--allow", "::1"}, "go with replace");
    refused({"rules", "web", "ban", "10.0.0.0/8"}, "unknown action ban");
    CHECK_THROWS_WITH_AS(parse({"rules"}), doctest::Contains("no service named"), Error);
    CHECK_THROWS_WITH_AS(parse({"rules", "web", "--set", "m,1,2"}), doctest::Contains("--set"), Error);
}

TEST_CASE("alfctl map: the service, the map, the action and its arguments") {
    auto request = [](std::vector<const char *> args) {
        CtlCommand command = parse(std::move(args));
        CHECK(command.verb == CtlVerb::map);
        CHECK(command.service == "web");
        return parse_map_request(command.action);
    };
    MapRequest r = request({"map", "web"});
    CHECK(r.action == MapAction::list);
    r = request({"map", "web", "allow4"});
    CHECK(r.action == MapAction::dump);
    CHECK(r.map == "allow4");
    CHECK(request({"map", "web", "allow4", "dump", "--json"}).action == MapAction::dump);
    r = request({"map", "web", "allow4", "get", "uint32_t:1"});
    CHECK(r.action == MapAction::get);
    CHECK(r.key == "uint32_t:1");
    r = request({"map", "web", "allow4", "set", "1", "127.0.0.2/32", "-q"});
    CHECK(r.action == MapAction::set);
    CHECK(r.key == "1");
    CHECK(r.value == "127.0.0.2/32");
    r = request({"map", "web", "blocked", "set", "10.0.0.0/8"});
    CHECK(r.action == MapAction::set);
    CHECK_FALSE(r.value.has_value());
    r = request({"map", "web", "config", "set", "0", R"({"rate": 5, "burst": 10})"});
    CHECK(r.value == R"({"rate": 5, "burst": 10})");
    r = request({"map", "web", "signed", "delete", "--", "-3"});
    CHECK(r.action == MapAction::remove);
    CHECK(r.key == "-3");
    CHECK(parse({"map", "web", "--json"}).json);

    auto refused = [](std::vector<const char *> args, const char *message) {
        auto command = parse(std::move(args));
        CHECK_THROWS_WITH_AS(parse_map_request(command.action), doctest::Contains(message), Error);
    };
    refused({"map", "web", "allow4", "get"}, "get needs KEY");
    refused({"map", "web", "allow4", "delete"}, "delete needs KEY");
    refused({"map", "web", "allow4", "set"}, "set needs KEY [VALUE]");
    refused({"map", "web", "allow4", "get", "1", "2"}, "unexpected argument '2'");
    refused({"map", "web", "allow4", "set", "1", "10.0.0.0/8", "x"}, "unexpected argument 'x'");
    refused({"map", "web", "allow4", "dump", "x"}, "unexpected argument 'x'");
    refused({"map", "web", "allow4", "put", "1"}, "unknown action put");
    refused({"map", "web", "get", "1"}, "no MAP before get");
    CHECK_THROWS_WITH_AS(parse({"map"}), doctest::Contains("no service named"), Error);
    CHECK_THROWS_WITH_AS(parse({"map", "web", "allow4", "set", "-3", "1"}), doctest::Contains("'-3'"), Error);
    CHECK_THROWS_WITH_AS(parse({"map", "web", "--set", "m,1,2"}), doctest::Contains("--set"), Error);
    CHECK(ctl_usage_text(CtlVerb::map).find("ALF_MAP_DEFAULT_VALUE") != std::string::npos);
    CHECK(ctl_usage_text(CtlVerb::none).find("  map ") != std::string::npos);
}
