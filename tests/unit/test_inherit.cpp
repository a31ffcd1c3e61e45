#include "common/error.hpp"
#include "launch/inherit.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace alf;

namespace {
std::string refusal(const char *fds, const char *pid, const char *names, long self = 100) {
    try {
        parse_listen_environment(fds, pid, names, self);
    } catch (const Error &e) {
        return e.what();
    }
    return "accepted";
}
}  // namespace

TEST_CASE("the socket-activation variables, by the protocol's rules") {
    auto env = parse_listen_environment("2", "100", "http:https", 100);
    CHECK(env.count == 2);
    CHECK(env.names == std::vector<std::string>{"http", "https"});

    env = parse_listen_environment("3", "100", nullptr, 100);
    CHECK(env.names == std::vector<std::string>{"unknown", "unknown", "unknown"});

    // systemd may pass empty names; they are kept as they came.
    CHECK(parse_listen_environment("2", "100", ":b", 100).names == std::vector<std::string>{"", "b"});
}

TEST_CASE("variables that break the protocol are refused") {
    CHECK(refusal(nullptr, nullptr, nullptr).find("LISTEN_FDS is not set") != std::string::npos);
    CHECK(refusal("1", nullptr, nullptr).find("LISTEN_PID is not") != std::string::npos);
    CHECK(refusal("1", "99", nullptr).find("not alfwrapper's process id (100)") != std::string::npos);
    CHECK(refusal("1", "abc", nullptr).find("LISTEN_PID") != std::string::npos);
    CHECK(refusal("0", "100", nullptr).find("LISTEN_FDS=0") != std::string::npos);
    CHECK(refusal("-1", "100", nullptr).find("LISTEN_FDS") != std::string::npos);
    CHECK(refusal("two", "100", nullptr).find("LISTEN_FDS") != std::string::npos);
    CHECK(refusal("100000", "100", nullptr).find("out of range") != std::string::npos);
    CHECK(refusal("2", "100", "http").find("holds 1 names but LISTEN_FDS=2") != std::string::npos);
    CHECK(refusal("1", "100", "a:b").find("holds 2 names but LISTEN_FDS=1") != std::string::npos);
}
