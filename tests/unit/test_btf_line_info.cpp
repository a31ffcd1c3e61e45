// Source lines from an object's .BTF.ext: compile in-process, look up.
#include "bpf/btf_line_info.hpp"
#include "compile_source.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

using namespace alf;

TEST_CASE("the source line of an instruction, from the object's line info") {
    TempDir dir("alf-linfo");
    std::string path = dir.file("lines.c");
    CompileResult result = compile_source_file(path, "#include <alfwrapper/filter.h>\n"
                                                     "\n"
                                                     "SEC(\"socket\")\n"
                                                     "int filter(struct __sk_buff *skb)\n"
                                                     "{\n"
                                                     "\treturn skb->len > 100 ? ALF_PASS : ALF_DROP;\n"
                                                     "}\n");
    INFO(result.diagnostics);
    REQUIRE(result.ok);

    auto line = source_line_of(result.object, "filter", 0);
    REQUIRE(line);
    CHECK(line->file == path);
    CHECK(line->line == 6);
    CHECK(line->text == "return skb->len > 100 ? ALF_PASS : ALF_DROP;");

    CHECK_FALSE(source_line_of(result.object, "no_such_program", 0));
    std::vector<std::uint8_t> garbage(result.object.begin(), result.object.begin() + 100);
    CHECK_FALSE(source_line_of(garbage, "filter", 0));
    CHECK_FALSE(source_line_of({}, "filter", 0));
}
