// Helpers the unit tests share.
#pragma once

#include "compile/compiler.hpp"
#include "common/error.hpp"
#include "compile/headers.hpp"
#include "bpf/filter_object.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

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
    char dir[] = "/tmp/alf-unit-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/" + name;
    std::ofstream(path) << source;
    alf::CompileRequest request;
    request.source_path = path;
    request.runtime_headers = alf::runtime_headers();
    alf::CompileResult result = alf::compile_filter(request);
    std::remove(path.c_str());
    rmdir(dir);
    INFO(result.diagnostics);
    REQUIRE(result.ok);
    return result.object;
}

// The same, opened with libbpf, not loaded (no privileges needed).
inline alf::FilterObject compile_test_filter(const char *source, const std::string &name) {
    return alf::FilterObject::open(compile_test_object(source, name), name);
}
