#include "ctl_cli.hpp"
#include "error.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace alf;

namespace {
CtlOptions parse(std::vector<const char *> args) {
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
    CHECK(o.sets.size() == 2);
    CHECK(o.verbose);

    o = parse({"test", "f.o", "--json", "--expect", "drop", "tcp 10.0.0.1:1 > [::]:2", "udp", "[::1]:1", ">", "[::]:2"});
    CHECK(o.verb == CtlVerb::test);
    CHECK(o.json);
    CHECK(o.expect == "drop");
    CHECK(o.packets.size() == 5);

    o = parse({"test", "f.c", "--pcap", "x.pcap"});
    CHECK(o.pcap == "x.pcap");
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
             {"help", "nothing"}, {"compile", "f.c", "--set", "m,1,2"}}) {
        CAPTURE(args.size());
        CHECK_THROWS_AS(parse(args), Error);
    }
}
