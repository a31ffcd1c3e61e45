#include "cli/ctl_cli.hpp"
#include "cli/wrapper_cli.hpp"
#include "compile/builtin_filters.hpp"
#include "pipeline/builtin_catalog.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace alf;

TEST_CASE("every built-in filter says what it does, in one line") {
    auto names = builtin_filter_names();
    REQUIRE(names.size() >= 8);
    for (const auto &name : names) {
        std::string description = builtin_filter_description(name);
        CHECK_MESSAGE(description.size() > 10, name);
        CHECK_MESSAGE(description.find('\n') == std::string::npos, name);
        CHECK_MESSAGE(description.find("*/") == std::string::npos, name);
    }
    CHECK(builtin_filter_description("private") == "admit only peers from loopback, private and link-local sources");
    CHECK(builtin_filter_description("no-such-filter").empty());
}

TEST_CASE("the list of built-in filters names each with its maps, read from its object") {
    std::string list = describe_builtin_filters();
    for (const auto &name : builtin_filter_names()) CHECK_MESSAGE(list.find("  " + name + " ") != std::string::npos, name);
    CHECK(list.find("maps: allow4 (hash, 1024 entries), allow6 (hash, 1024 entries)\n") != std::string::npos);
    CHECK(list.find("maps: config (array, 1 entry), buckets (lru_hash, ") != std::string::npos);
    CHECK(list.find("  private            admit only peers from loopback, private and link-local sources\n"
                    "                     no maps\n") != std::string::npos);
}

TEST_CASE("alfwrapper --list-filters needs no filter nor program") {
    const char *argv[] = {"alfwrapper", "--list-filters"};
    CHECK(parse_wrapper_command_line(2, argv).list_filters);
}

TEST_CASE("help names no file of the source tree: it is read where only the installed files are") {
    std::vector<std::string> texts = {wrapper_usage_text()};
    for (CtlVerb verb : {CtlVerb::none, CtlVerb::compile, CtlVerb::check, CtlVerb::test, CtlVerb::list, CtlVerb::filters,
                         CtlVerb::headers})
        texts.push_back(ctl_usage_text(verb));
    for (const auto &text : texts)
        for (const char *tree_path : {"filters/", "examples/", "runtime-headers", "README", "build/"})
            CHECK_MESSAGE(text.find(tree_path) == std::string::npos, tree_path << " in:\n" << text);
    CHECK(wrapper_usage_text().find("--list-filters") != std::string::npos);
}
