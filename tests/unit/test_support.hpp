// Helpers the unit tests share.
#pragma once

#include "bpf/filter_object.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"
#include "compile_source.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// A test that needs root is in the doctest suite "root" (TEST_CASE("..." *
// root_suite)). ctest runs that suite apart (unit/root, and the property
// test) through the test harness's one gate (tests/gated_run.py, calling
// harness.require): without root it is skipped with the reason, and under
// ALF_TESTS_MUST_RUN=1 (as in CI) that is a failure. Inside the suite, root
// is a precondition:
//     TEST_CASE("loads a filter" * root_suite) { require_root("loading a filter needs root"); ... }
inline const auto root_suite = doctest::test_suite("root");
inline void require_root(std::string_view why) {
    REQUIRE_MESSAGE(geteuid() == 0, std::string(why) << ": run this suite as root (ctest's gate skips it otherwise)");
}

// The gate for a test (or its part) that cannot run on this machine (one
// CPU, no SHA extensions): true when `condition` holds; otherwise it says
// why and returns false, and under ALF_TESTS_MUST_RUN=1 (as in CI) that is
// a failure, as the harness's gate makes it for whole tests.
inline bool can_run_here(bool condition, std::string_view why) {
    if (condition) return true;
    const char *must_run = std::getenv("ALF_TESTS_MUST_RUN");
    CHECK_MESSAGE(!(must_run && std::string_view(must_run) == "1"),
                  "cannot run here, and ALF_TESTS_MUST_RUN=1: " << std::string(why));
    MESSAGE("cannot run here: " << std::string(why));
    return false;
}

// The message of the alf::Error that fn throws, or "(no error)".
template <typename Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const alf::Error &e) {
        return e.what();
    }
    return "(no error)";
}

// A filter written for a unit test, compiled in-process from its source.
inline std::vector<std::uint8_t> compile_test_object(const char *source, const std::string &name) {
    alf::TempDir dir("alf-unit");
    alf::CompileResult result = alf::compile_source_file(dir.file(name), source);
    INFO(result.diagnostics);
    REQUIRE(result.ok);
    return result.object;
}

// The same, opened with libbpf, not loaded (no privileges needed).
inline alf::FilterObject compile_test_filter(const char *source, const std::string &name) {
    return alf::FilterObject::open(compile_test_object(source, name), name);
}

// A random address of a family, for the kernel tests' sources (IPv6 never
// IPv4-mapped).
inline alf::IpAddress random_ip(std::mt19937_64 &random, alf::Family family) {
    alf::IpAddress a;
    a.family = family;
    for (std::size_t i = 0; i < a.size(); ++i) a.bytes[i] = static_cast<std::uint8_t>(random());
    if (family == alf::Family::ipv6 && a.bytes[0] == 0) a.bytes[0] = 0x20;
    return a;
}
