// The runtime headers compile on their own, without warnings, for the BPF
// target, with the compiler and the flags alfwrapper uses.
#include "compile/compiler.hpp"
#include "compile/headers.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace alf;

namespace {

const std::vector<std::string> strict = {"-Wall", "-Wextra", "-Werror"};

// A source file in a fresh directory, removed when the test ends.
struct ScratchSource : TempFile {
    explicit ScratchSource(const std::string &text) : TempFile(text, "check.c") {}
};

CompileResult compile_strict(const std::string &path, std::vector<std::string> flags) {
    CompileRequest request;
    request.source_path = path;
    request.runtime_headers = runtime_headers();
    request.warning_flags = std::move(flags);
    return compile_filter(request);
}

}  // namespace

TEST_CASE("every runtime header compiles on its own under -Wall -Wextra -Wpedantic -Werror") {
    auto headers = runtime_headers();
    REQUIRE(headers.size() >= 16);
    for (const auto &header : headers) {
        CAPTURE(header.path);
        ScratchSource source("#include <" + header.path + ">\n");
        auto flags = strict;
        flags.push_back("-Wpedantic");
        CompileResult result = compile_strict(source.path(), flags);
        CHECK_MESSAGE(result.ok, result.diagnostics);
        CHECK_MESSAGE(result.diagnostics.empty(), result.diagnostics);
    }
}

TEST_CASE("a filter using every macro and function of the API compiles under -Wall -Wextra -Werror") {
    std::string tour = std::string(ALF_SOURCE_DIR) + "/tests/filters/api_tour.c";
    CompileResult result = compile_strict(tour, strict);
    CHECK_MESSAGE(result.ok, result.diagnostics);
    CHECK_MESSAGE(result.diagnostics.empty(), result.diagnostics);
    // Every include resolved to the embedded set, none to a system header.
    for (const auto &input : result.inputs) {
        if (input.kind != CompileInput::Kind::read) continue;
        CAPTURE(input.path);
        CHECK((input.path == tour || input.path.starts_with(runtime_include_dir)));
    }
}

TEST_CASE("every library filter compiles under -Wall -Wextra -Werror") {
    int count = 0;
    for (const auto &entry : std::filesystem::directory_iterator(std::string(ALF_SOURCE_DIR) + "/filters")) {
        if (entry.path().extension() != ".c") continue;
        CAPTURE(entry.path().string());
        CompileResult result = compile_strict(entry.path().string(), strict);
        CHECK_MESSAGE(result.ok, result.diagnostics);
        CHECK_MESSAGE(result.diagnostics.empty(), result.diagnostics);
        ++count;
    }
    CHECK(count >= 7);
}

TEST_CASE("a warning in a header the strict check would catch is reported as an error") {
    // The check can fail: an unused variable in a static inline function of a
    // header included here is a -Wall warning, an error under -Werror.
    ScratchSource source("#include <alfwrapper/filter.h>\nstatic inline int f(void) { int unused; return 0; }\n"
                         "int g(void) { return f(); }\n");
    CompileResult result = compile_strict(source.path(), strict);
    CHECK_FALSE(result.ok);
    CHECK(result.diagnostics.find("unused") != std::string::npos);
}
