// The precompiled runtime headers: used only for a source that begins with
// #include <alfwrapper/filter.h> and a plain request, and then the object is
// the one a compile without them gives, byte for byte; errors read the same.
#include "compile/compiler.hpp"
#include "compile/headers.hpp"
#include "compile/runtime_pch.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

using namespace alf;

namespace {

CompileResult compile(const std::string &path, bool with_pch, std::vector<std::string> defines = {}) {
    CompileRequest request;
    request.source_path = path;
    request.runtime_headers = runtime_headers();
    if (with_pch) request.runtime_pch = runtime_pch();
    request.precompiled_log = true;  // as alfwrapper compiles, for which the headers were precompiled
    request.defines = std::move(defines);
    request.optimization = Optimization::fast;
    return compile_filter(request);
}

}  // namespace

TEST_CASE("which sources begin with the runtime include") {
    CHECK(begins_with_runtime_include("#include <alfwrapper/filter.h>\n"));
    CHECK(begins_with_runtime_include("#include <alfwrapper/filter.h>"));
    CHECK(begins_with_runtime_include("/* a filter\n * more */\n\n// and\n  #  include\t<alfwrapper/filter.h> // API\n"));
    CHECK(begins_with_runtime_include("#include <alfwrapper/filter.h> /* API */\r\nint x;"));
    CHECK_FALSE(begins_with_runtime_include("#define ALF_X 1\n#include <alfwrapper/filter.h>\n"));
    CHECK_FALSE(begins_with_runtime_include("#include \"alfwrapper/filter.h\"\n"));
    CHECK_FALSE(begins_with_runtime_include("#include <alfwrapper/packet.h>\n#include <alfwrapper/filter.h>\n"));
    CHECK_FALSE(begins_with_runtime_include("#include <alfwrapper/filter.h> int x;\n"));
    CHECK_FALSE(begins_with_runtime_include("#include <alfwrapper/filter.hh>\n"));
    CHECK_FALSE(begins_with_runtime_include("#include <alfwrapper/filter.h> /* open\n */\n"));
    CHECK_FALSE(begins_with_runtime_include("/* never closed #include <alfwrapper/filter.h>\n"));
    CHECK_FALSE(begins_with_runtime_include("// #include <alfwrapper/filter.h>"));
    CHECK_FALSE(begins_with_runtime_include(""));
    auto quoted = first_include("// a filter of the library\n#include \"private.c\"\n");
    REQUIRE(quoted);
    CHECK(quoted->name == "private.c");
    CHECK_FALSE(quoted->angled);
    CHECK_FALSE(first_include("#include \"private.c\n\""));
    CHECK_FALSE(first_include("#include <alfwrapper/filter.h\n>"));
}

TEST_CASE("every library filter compiles from the precompiled headers to the same object") {
    REQUIRE(!runtime_pch().empty());
    int count = 0;
    for (const auto &entry : std::filesystem::directory_iterator(std::string(ALF_SOURCE_DIR) + "/filters")) {
        if (entry.path().extension() != ".c") continue;
        std::string path = entry.path().string();
        INFO(path);
        CompileResult with = compile(path, true), without = compile(path, false);
        REQUIRE(with.ok);
        REQUIRE(without.ok);
        CHECK_FALSE(without.from_runtime_pch);
        CHECK(with.object == without.object);
        CHECK(with.diagnostics == without.diagnostics);
        CHECK(with.from_runtime_pch);  // whitelist-private.c through private.c, which it includes first
        ++count;
    }
    CHECK(count >= 8);
}

TEST_CASE("the precompiled headers: not for other requests, and errors as without them") {
    TempDir dir("alf-pch");
    SUBCASE("a macro before the include, or a define, compiles as written, without them") {
        std::string path = dir.file("macro.c");
        write_text_file(path, "#define ALF_LOCAL 7\n#include <alfwrapper/filter.h>\n"
                              "SEC(\"socket\") int filter(struct __sk_buff *skb) { return ALF_LOCAL; }\n"
                              "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
        CompileResult r = compile(path, true);
        CHECK(r.ok);
        CHECK_FALSE(r.from_runtime_pch);
        std::string plain = dir.file("plain.c");
        write_text_file(plain, "#include <alfwrapper/filter.h>\n"
                               "SEC(\"socket\") int filter(struct __sk_buff *skb) { return ALF_PASS; }\n"
                               "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
        CompileResult defined = compile(plain, true, {"ALF_ANY=1"});
        CHECK(defined.ok);
        CHECK_FALSE(defined.from_runtime_pch);
        CompileResult used = compile(plain, true);
        CHECK(used.ok);
        CHECK(used.from_runtime_pch);
        CHECK(used.object == defined.object);
        // They declare the drop log's functions only: not for a compile
        // that defines them (build_filter's).
        CompileRequest whole;
        whole.source_path = plain;
        whole.runtime_headers = runtime_headers();
        whole.runtime_pch = runtime_pch();
        CompileResult whole_result = compile_filter(whole);
        CHECK(whole_result.ok);
        CHECK_FALSE(whole_result.from_runtime_pch);
    }
    SUBCASE("a first include of a file beside it: only when that file begins with the runtime include") {
        write_text_file(dir.file("base.c"), "#include <alfwrapper/filter.h>\n"
                                            "SEC(\"socket\") int filter(struct __sk_buff *skb) { return ALF_PASS; }\n"
                                            "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
        write_text_file(dir.file("other.c"), "#define ALF_LOCAL 1\n#include <alfwrapper/filter.h>\n"
                                             "SEC(\"socket\") int filter(struct __sk_buff *skb) { return ALF_LOCAL; }\n"
                                             "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
        std::string on_base = dir.file("on_base.c"), on_other = dir.file("on_other.c");
        write_text_file(on_base, "#include \"base.c\"\n");
        write_text_file(on_other, "#include \"other.c\"\n");
        CompileResult base = compile(on_base, true), other = compile(on_other, true);
        CHECK(base.ok);
        CHECK(base.from_runtime_pch);
        CHECK(other.ok);
        CHECK_FALSE(other.from_runtime_pch);
    }
    SUBCASE("precompiled headers that do not load: compiled without them") {
        std::string path = dir.file("plain.c");
        write_text_file(path, "#include <alfwrapper/filter.h>\n"
                              "SEC(\"socket\") int filter(struct __sk_buff *skb) { return ALF_PASS; }\n"
                              "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
        CompileRequest request;
        request.source_path = path;
        request.runtime_headers = runtime_headers();
        request.runtime_pch = runtime_pch().first(200);  // cut short
        request.precompiled_log = true;
        request.optimization = Optimization::fast;
        CompileResult r = compile_filter(request);
        CHECK(r.ok);
        CHECK_FALSE(r.from_runtime_pch);
        CHECK(r.diagnostics.empty());
        CHECK(r.object == compile(path, false).object);
    }
    SUBCASE("a source with errors is reported as a compile without them reports it") {
        std::string path = dir.file("bad.c");
        write_text_file(path, "#include <alfwrapper/filter.h>\n"
                              "SEC(\"socket\") int filter(struct __sk_buff *skb) { return undefined_thing; }\n");
        CompileResult with = compile(path, true), without = compile(path, false);
        CHECK_FALSE(with.ok);
        CHECK(with.diagnostics == without.diagnostics);
        CHECK(with.diagnostics.find("use of undeclared identifier 'undefined_thing'") != std::string::npos);
    }
}
