// --config FILE.json: the command line's settings as JSON, overridden by the
// command line; unknown keys and wrong shapes named with their place.
#include "cli/wrapper_cli.hpp"
#include "common/error.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace alf;

namespace {

struct ConfigFile {
    TempDir scratch{"alf-config"};
    std::string dir = scratch.path().string();
    std::string path;

    explicit ConfigFile(const std::string &json) : path(scratch.write("app.json", json)) {}
};

Configuration parse(std::vector<const char *> args) {
    args.insert(args.begin(), "alfwrapper");
    return parse_wrapper_command_line(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char *> args) {
    try {
        parse(args);
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("a config file holds what the command line holds") {
    ConfigFile file(R"({
        "address": "127.0.0.1", "port": 8080, "type": "SOCK_DGRAM",
        "filter": "myfilter.c", "program": "main",
        "define": {"DEBUG": null, "LIMIT": 10}, "include": ["inc"],
        "set": ["allow4,0,10.0.0.0/8"], "set-file": {"hosts": "hosts.txt"}, "map-size": {"hosts": 4096},
        "maps": {"ports": [[22, 1], {"key": 80, "value": 2}, 443]},
        "allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": "10.9.0.0/16", "rules-file": "/etc/networks.rules",
        "verbose": true, "dry-run": false,
        "command": ["myserver", "--flag"]
    })");
    Configuration o = parse({"--config", file.path.c_str()});
    CHECK(o.sockets.address == "127.0.0.1");
    CHECK(o.sockets.port == "8080");
    CHECK(o.sockets.type == "SOCK_DGRAM");
    CHECK(o.filter == file.dir + "/myfilter.c");  // relative paths: from the file's directory
    CHECK(o.program == "main");
    CHECK(o.defines == std::vector<std::string>{"DEBUG", "LIMIT=10"});
    CHECK(o.include_dirs == std::vector<std::string>{file.dir + "/inc"});
    CHECK(o.inputs.sets == std::vector<std::string>{"allow4,0,10.0.0.0/8"});
    CHECK(o.inputs.set_files == std::vector<std::string>{"hosts=" + file.dir + "/hosts.txt"});
    CHECK(o.inputs.map_sizes == std::vector<std::string>{"hosts=4096"});
    REQUIRE(o.inputs.map_entries.size() == 3);
    CHECK(o.inputs.map_entries[0].map == "ports");
    CHECK(o.inputs.map_entries[0].key == "22");
    CHECK(o.inputs.map_entries[0].value == "1");
    CHECK(o.inputs.map_entries[1].value == "2");
    CHECK_FALSE(o.inputs.map_entries[2].has_value);
    CHECK(o.inputs.map_entries[2].origin == "config " + file.path + ": /maps/ports[2]");
    CHECK(o.inputs.allow == std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"});
    CHECK(o.inputs.deny == std::vector<std::string>{"10.9.0.0/16"});
    CHECK(o.inputs.rules_files == std::vector<std::string>{"/etc/networks.rules"});
    CHECK(o.verbose);
    CHECK_FALSE(o.dry_run);
    CHECK(o.command == std::vector<std::string>{"myserver", "--flag"});
}

TEST_CASE("the command line overrides the file, key by key") {
    ConfigFile file(R"({"port": 8080, "allow": ["10.0.0.0/8"], "deny": ["10.9.0.0/16"], "filter": "subnets",
                        "command": ["from-file"]})");
    Configuration o = parse({"--config", file.path.c_str(), "--port", "9090", "--allow", "192.0.2.0/24", "--", "cli-server"});
    CHECK(o.sockets.port == "9090");
    CHECK(o.inputs.allow == std::vector<std::string>{"192.0.2.0/24"});  // the list is replaced, not extended
    CHECK(o.inputs.deny == std::vector<std::string>{"10.9.0.0/16"});     // what the command line leaves alone stays
    CHECK(o.filter == "subnets");                                  // a built-in filter's name stays a name
    CHECK(o.command == std::vector<std::string>{"cli-server"});

    o = parse({"--config", file.path.c_str(), "other.c", "prog"});
    CHECK(o.filter == "other.c");  // a positional filter overrides too
}

TEST_CASE("rules in a config select the rules filter") {
    ConfigFile file(R"({"allow": "127.0.0.1", "command": ["true"]})");
    CHECK(parse({"--config", file.path.c_str()}).filter == "subnets");
}

TEST_CASE("config errors name the key and its place") {
    auto check = [](const std::string &json, const std::string &needle) {
        ConfigFile file(json);
        std::string message = error_of({"--config", file.path.c_str(), "true"});
        INFO(message);
        CHECK(message.find("config " + file.path) == 0);
        CHECK(message.find(needle) != std::string::npos);
    };
    check(R"({"alow": ["10.0.0.0/8"]})", "/alow: unknown key 'alow'");
    check(R"({"config": "other.json"})", "/config: unknown key 'config'");
    check(R"({"help": true})", "/help: unknown key 'help'");
    check(R"({"port": [80]})", "/port: expected a string or an integer, found a JSON array");
    check(R"({"verbose": "yes"})", "/verbose: expected true or false");
    check(R"({"allow": [["10.0.0.0/8"]]})", "/allow/0: expected a string or an integer");
    check(R"({"maps": []})", "/maps: expected an object");
    check(R"({"maps": {"m": {"key": 1}}})", "/maps/m: expected an array of entries");
    check(R"({"maps": {"m": [{"key": 1, "valeu": 2}]}})", "/maps/m[0]: unknown member 'valeu'");
    check(R"({"command": []})", "/command: the command is empty");
    check(R"(["allow", "10.0.0.0/8"])", "expected a JSON object of settings");
    check(R"({"allow": "10.0.0.0/8",})", "not valid JSON");
    check(R"({"set-file": {"m": ["a.txt"]}})", "/set-file/m: expected a string or an integer, found a JSON array");
}
