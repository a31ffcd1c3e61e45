#include "cli/wrapper_cli.hpp"
#include "common/error.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace alf;

namespace {
Configuration parse(std::vector<const char *> args) {
    args.insert(args.begin(), "alfwrapper");
    return parse_wrapper_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("the seed's command lines") {
    auto o = parse({"--address", "::", "--port", "4242", "filters/whitelist-private.c", "examples/echod.sh"});
    CHECK(o.filter == "filters/whitelist-private.c");
    CHECK(o.sockets.address == "::");
    CHECK(o.sockets.port == "4242");
    CHECK(o.command == std::vector<std::string>{"examples/echod.sh"});

    o = parse({"--address", "::", "--port", "4242", "--set", "allow4,uint32_t:0,subnet4:127.0.0.1/24", "--set",
               "allow6,uint32_t:0,subnet6:::1/128", "filters/whitelist.c", "examples/echod.sh"});
    CHECK(o.inputs.sets.size() == 2);
    CHECK(o.inputs.sets[1] == "allow6,uint32_t:0,subnet6:::1/128");
}

TEST_CASE("options after PROGRAM belong to PROGRAM") {
    auto o = parse({"-f", "x.c", "server", "-v", "--port", "80"});
    CHECK(o.filter == "x.c");
    CHECK_FALSE(o.verbose);
    CHECK(o.sockets.port == "4242");
    CHECK(o.command == std::vector<std::string>{"server", "-v", "--port", "80"});

    o = parse({"x.c", "--", "prog.c", "--help"});
    CHECK(o.command == std::vector<std::string>{"prog.c", "--help"});
    CHECK_FALSE(o.help);

    o = parse({"-DFOO=1", "-D", "BAR", "-Iinc", "--port=80", "x.c", "prog"});
    CHECK(o.defines == std::vector<std::string>{"FOO=1", "BAR"});
    CHECK(o.include_dirs == std::vector<std::string>{"inc"});
    CHECK(o.sockets.port == "80");
}

TEST_CASE("usage errors") {
    CHECK_THROWS_AS(parse({"x.c"}), Error);                 // no program
    CHECK_THROWS_AS(parse({"prog"}), Error);                // no filter
    CHECK_THROWS_AS(parse({"--frobnicate", "x.c", "p"}), Error);
    CHECK_THROWS_AS(parse({"--port"}), Error);              // option without its value
}

TEST_CASE("socket, user and hand-off options") {
    auto o = parse({"-l", "tcp:80,name=http", "--listen=udp:[::1]:53", "--inherit", "--fdname", "a:b", "-E", "X=1",
                    "-EY", "-u", "nobody", "--group=nogroup", "--dry-run", "--json", "x.c", "prog"});
    CHECK(o.sockets.listens == std::vector<std::string>{"tcp:80,name=http", "udp:[::1]:53"});
    CHECK(o.sockets.inherit);
    CHECK(o.sockets.fdnames == std::vector<std::string>{"a:b"});
    CHECK(o.setenv == std::vector<std::string>{"X=1", "Y"});
    CHECK(o.user == "nobody");
    CHECK(o.group == "nogroup");
    CHECK(o.json);
    CHECK_FALSE(o.sockets.seed_socket);
    CHECK(parse({"--port", "80", "-l", "udp:53", "x.c", "prog"}).sockets.seed_socket);
    CHECK(parse({"--type", "SOCK_DGRAM", "x.c", "prog"}).sockets.seed_socket);
}
