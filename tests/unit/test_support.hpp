// Helpers the unit tests share.
#pragma once

#include "bpf/filter_object.hpp"
#include "common/error.hpp"
#include "compile_source.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// The one gate for a test that cannot run here (no root, a missing kernel
// feature): false, with the reason shown, so the test returns; under
// ALF_TESTS_MUST_RUN=1 (as in CI) the test fails instead. Use as
//     if (!require(geteuid() == 0, "loading a filter needs root")) return;
[[nodiscard]] inline bool require(bool condition, std::string_view reason) {
    if (condition) return true;
    const char *must_run = std::getenv("ALF_TESTS_MUST_RUN");
    if (must_run && std::string_view(must_run) == "1")
        FAIL("cannot run here, and ALF_TESTS_MUST_RUN=1: " << std::string(reason));
    MESSAGE("skipped: " << std::string(reason) << " (ALF_TESTS_MUST_RUN=1 makes this a failure)");
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
