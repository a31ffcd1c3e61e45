#include "common/error.hpp"
#include "launch/handoff.hpp"
#include "launch/privileges.hpp"

#include <doctest/doctest.h>

#include <pwd.h>

#include <cstdlib>

using namespace alf;

TEST_CASE("users and groups by name and number") {
    CHECK_FALSE(resolve_credentials("", "").has_value());

    const passwd *nobody = getpwnam("nobody");
    REQUIRE(nobody);
    auto c = resolve_credentials("nobody", "");
    REQUIRE(c);
    CHECK(c->change_user);
    CHECK(c->uid == nobody->pw_uid);
    CHECK(c->gid == nobody->pw_gid);
    CHECK(c->user == "nobody");
    CHECK(!c->groups.empty());
    CHECK(credential_environment(*c) ==
          std::vector<std::string>{"HOME=" + c->home, "USER=nobody", "LOGNAME=nobody"});

    auto by_number = resolve_credentials(std::to_string(nobody->pw_uid), "0");
    REQUIRE(by_number);
    CHECK(by_number->user == "nobody");
    CHECK(by_number->gid == 0);

    auto group_only = resolve_credentials("", "0");
    REQUIRE(group_only);
    CHECK_FALSE(group_only->change_user);
    CHECK(group_only->groups == std::vector<gid_t>{0});
    CHECK(credential_environment(*group_only).empty());
}

TEST_CASE("unknown users and groups are errors") {
    CHECK_THROWS_WITH_AS(resolve_credentials("no-such-user-alf", ""), doctest::Contains("no such user"), Error);
    CHECK_THROWS_WITH_AS(resolve_credentials("", "no-such-group-alf"), doctest::Contains("no such group"), Error);
    // A uid without a user database entry has no group of its own.
    CHECK_THROWS_WITH_AS(resolve_credentials("3999999", ""), doctest::Contains("-g GROUP"), Error);
    CHECK_THROWS_AS(resolve_credentials("4294967295", "0"), Error);
}

TEST_CASE("-E/--setenv") {
    setenv("ALF_TEST_VALUE", "from-outside", 1);
    CHECK(parse_setenv({"A=1", "B=", "ALF_TEST_VALUE"}) ==
          std::vector<std::string>{"A=1", "B=", "ALF_TEST_VALUE=from-outside"});
    unsetenv("ALF_TEST_VALUE");
    CHECK_THROWS_WITH_AS(parse_setenv({"ALF_TEST_VALUE"}), doctest::Contains("is not set"), Error);
    CHECK_THROWS_WITH_AS(parse_setenv({"LISTEN_FDS=3"}), doctest::Contains("hand-off"), Error);
    CHECK_THROWS_AS(parse_setenv({"=x"}), Error);
    CHECK_THROWS_AS(parse_setenv({"1A=x"}), Error);
}
