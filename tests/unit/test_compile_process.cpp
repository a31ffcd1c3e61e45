// A compile in a process of its own: the answer it sends back decodes to
// what was sent, and nothing else does; the object is the one compiling
// here gives; a compile that must end comes back as an Error with its
// message and status; and no process is left for the caller to reap.
#include "common/error.hpp"
#include "compile/compile_process.hpp"
#include "compile/headers.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cerrno>
#include <string>

using namespace alf;

namespace {

CompileRequest request_for(const std::string &path) {
    CompileRequest request;
    request.source_path = path;
    request.runtime_headers = runtime_headers();
    request.optimization = Optimization::fast;
    return request;
}

std::string error_of(std::string_view answer, int &status) {
    try {
        decode_answer(answer);
    } catch (const Error &e) {
        status = e.exit_status();
        return e.what();
    }
    return "(decoded)";
}

// The caller has no child left: the compiler was nobody's child, the
// process between was waited for.
bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

}  // namespace

TEST_CASE("a compiler's answer decodes to what was sent") {
    CompileResult sent;
    sent.ok = true;
    sent.from_runtime_pch = true;
    sent.object = {0x7f, 'E', 'L', 'F', 0, 0, 0xff, 0};
    sent.diagnostics = std::string("warning: x\n\0and more", 20);
    sent.inputs = {{"/a/filter.c", CompileInput::Kind::read, std::string("int x;\0", 7)},
                   {"/a/include", CompileInput::Kind::exists, ""},
                   {"/a/missing.h", CompileInput::Kind::absent, ""}};
    sent.more_objects = {{0x7f, 'E', 'L', 'F', 1}, {}};
    sent.hidden_functions = {"callback", "other"};
    CompileResult got = decode_answer(encode_answer(sent));
    CHECK(got.ok);
    CHECK(got.from_runtime_pch);
    CHECK(got.object == sent.object);
    CHECK(got.diagnostics == sent.diagnostics);
    REQUIRE(got.inputs.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(got.inputs[i].path == sent.inputs[i].path);
        CHECK(got.inputs[i].kind == sent.inputs[i].kind);
        CHECK(got.inputs[i].content == sent.inputs[i].content);
    }
    CHECK(got.more_objects == sent.more_objects);
    CHECK(got.hidden_functions == sent.hidden_functions);
    CompileResult failed;
    failed.diagnostics = "error: y";
    CompileResult got_failed = decode_answer(encode_answer(failed));
    CHECK_FALSE(got_failed.ok);
    CHECK(got_failed.object.empty());
    CHECK(got_failed.diagnostics == "error: y");
}

TEST_CASE("an answer cut short, with bytes past its end or of no known kind is an error") {
    CompileResult sent;
    sent.ok = true;
    sent.object = {1, 2, 3};
    sent.inputs = {{"/f.c", CompileInput::Kind::read, "x"}};
    std::string answer = encode_answer(sent);
    int status = 0;
    for (std::size_t length = 0; length < answer.size(); ++length) {
        INFO("first " << length << " bytes");
        CHECK(error_of(answer.substr(0, length), status).find("answer") != std::string::npos);
        CHECK(status == exit_system);
    }
    CHECK(error_of(answer + "x", status) == "the filter compiler's answer has bytes past its end");
    std::string other_kind = answer;
    other_kind[0] = 'Q';
    CHECK(error_of(other_kind, status) == "the filter compiler's answer is of no known kind");
    // An input's kind is one byte after its path (8 bytes of length, "/f.c").
    std::string bad_input = answer;
    std::size_t kind_at = bad_input.find("/f.c") + 4;
    REQUIRE(bad_input[kind_at] == static_cast<char>(CompileInput::Kind::read));
    bad_input[kind_at] = 9;
    CHECK(error_of(bad_input, status).find("input of no known kind") != std::string::npos);
}

TEST_CASE("a compile in a process of its own gives the object a compile here gives") {
    TempFile source("#include <alfwrapper/filter.h>\n"
                    "SEC(\"socket\") int filter(struct __sk_buff *skb) { return skb->len > 100 ? ALF_PASS : ALF_DROP; }\n",
                    "small.c");
    CompileResult apart = compile_filter_apart(request_for(source.path()));
    CompileResult here = compile_filter(request_for(source.path()));
    REQUIRE(apart.ok);
    REQUIRE(here.ok);
    CHECK(apart.object == here.object);
    CHECK(apart.diagnostics == here.diagnostics);
    REQUIRE(apart.inputs.size() == here.inputs.size());
    CHECK(no_child_left());

    TempFile broken("#include <alfwrapper/filter.h>\nint filter(struct __sk_buff *skb) { return no_such; }\n", "broken.c");
    CompileResult refused = compile_filter_apart(request_for(broken.path()));
    CHECK_FALSE(refused.ok);
    CHECK(refused.diagnostics.find("no_such") != std::string::npos);
    CHECK(no_child_left());
}

TEST_CASE("a compile that passes a bound ends its process, and the caller gets its message and status") {
    // Each level multiplies the expression by eight: 8^10 terms.
    std::string bomb = "#include <alfwrapper/filter.h>\n#define A1 x+x+x+x+x+x+x+x\n";
    for (int i = 2; i <= 10; ++i) {
        bomb += "#define A" + std::to_string(i) + " ";
        for (int j = 0; j < 8; ++j) bomb += (j ? "+A" : "A") + std::to_string(i - 1);
        bomb += "\n";
    }
    bomb += "SEC(\"socket\") int filter(struct __sk_buff *skb) { int x = skb->len; return A10; }\n";
    TempFile source(bomb, "bomb.c");
    CompileRequest request = request_for(source.path());
    request.time_limit_seconds = 0;
    request.memory_limit_mib = 200;
    std::string message;
    int status = 0;
    try {
        compile_filter_apart(request);
    } catch (const Error &e) {
        message = e.what();
        status = e.exit_status();
    }
    CHECK(message == "filter " + source.path() +
                         ": compiling it needed more than 200 MiB of memory (a macro or loop that expands without "
                         "end?); nothing was started");
    CHECK(status == exit_usage);
    CHECK(no_child_left());
}
