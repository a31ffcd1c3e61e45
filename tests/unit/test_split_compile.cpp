// A compile split in two (CompileRequest::split_functions, as alfwrapper
// compiles a source): the programs in one object, the filter's other BPF
// functions in another, compiled at once, and linked. A filter without
// other functions is compiled whole; a static variable that both halves use
// is one variable in the linked filter; a constant the compiler made is
// copied into each half.
#include "bpf/filter_object.hpp"
#include "common/util.hpp"
#include "common/net_address.hpp"
#include "compile/compiler.hpp"
#include "compile/headers.hpp"
#include "compile/log_library.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"
#include "workbench/test_run.hpp"

#include <doctest/doctest.h>

#include <sched.h>

#include <string>
#include <vector>

using namespace alf;

namespace {

CompileResult compile_fast(TempDir &dir, const std::string &source, bool split) {
    std::string path = dir.file("filter.c");
    write_text_file(path, "#include <alfwrapper/filter.h>\n" + source + "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
    CompileRequest request{.source_path = path,
                           .runtime_headers = runtime_headers(),
                           .precompiled_log = true,
                           .optimization = Optimization::fast,
                           .split_functions = split};
    return compile_filter(request);
}

CompileResult compile_split(TempDir &dir, const std::string &source) {
    CompileResult result = compile_fast(dir, source, true);
    REQUIRE_MESSAGE(result.ok, result.diagnostics);
    return result;
}

// The callback sets the static variable and sums a table the compiler
// keeps as a constant; the program admits a packet when it sees both.
constexpr const char *shared_static = R"(
static __u64 last_turn;
static long count_turn(__u64 index, void *ctx)
{
	int weights[4] = {3, 1, 4, 1};

	last_turn = index + 100;
	*(__u64 *)ctx += weights[index & 3];
	return 0;
}
SEC("socket") int filter(struct __sk_buff *skb)
{
	__u64 sum = 0;

	bpf_loop(4, count_turn, &sum, 0);
	return sum == 9 && last_turn == 103 ? ALF_PASS : ALF_DROP;
}
)";

}  // namespace

TEST_CASE("a filter without BPF functions besides its programs is compiled whole") {
    TempDir dir("alf-split");
    CompileResult result =
        compile_split(dir, "SEC(\"socket\") int filter(struct __sk_buff *skb) { return skb->len ? ALF_PASS : ALF_DROP; }\n");
    CHECK(result.more_objects.empty());
    CHECK(result.hidden_functions.empty());
}

// Where the process may not use two CPUs (one in its affinity, a CPU
// quota), a compile is not split: the tests of a split one cannot run.
bool may_split() { return can_run_here(may_run_on_two_cpus(), "this process may not use two CPUs: no compile is split"); }

TEST_CASE("a callback compiled apart: its object and the program's linked into one filter") {
    if (!may_split()) return;
    TempDir dir("alf-split");
    CompileResult result = compile_split(dir, shared_static);
    REQUIRE(result.more_objects.size() == 1);
    CHECK(result.hidden_functions == std::vector<std::string>{"count_turn"});
    std::vector<std::uint8_t> linked =
        link_compiled_objects(result.object, result.more_objects, result.hidden_functions, "filter.c");
    CHECK(linked != result.object);
}

TEST_CASE("on one CPU, a filter with a callback is compiled whole") {
    cpu_set_t all, one;
    REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
    if (!can_run_here(CPU_COUNT(&all) >= 2, "one CPU: no second one to compile on")) return;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &one);
            break;
        }
    TempDir dir("alf-split");
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    CompileResult whole = compile_fast(dir, shared_static, true);
    REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
    REQUIRE_MESSAGE(whole.ok, whole.diagnostics);
    CHECK(whole.more_objects.empty());
    if (may_split()) CHECK(compile_split(dir, shared_static).more_objects.size() == 1);
}

TEST_CASE("a callback whose code the BPF target refuses: the message of the compile whole") {
    // Its stack: over the 512 bytes a BPF function may have.
    constexpr const char *too_deep = R"(
static long deep(__u64 index, void *ctx)
{
	volatile char buffer[600];

	buffer[index % 600] = 1;
	*(long *)ctx += buffer[(index + 1) % 600];
	return 0;
}
SEC("socket") int filter(struct __sk_buff *skb)
{
	long sum = 0;

	bpf_loop(2, deep, &sum, 0);
	return sum ? ALF_PASS : ALF_DROP;
}
)";
    TempDir dir("alf-split");
    CompileResult whole = compile_fast(dir, too_deep, false);
    CompileResult split = compile_fast(dir, too_deep, true);
    CHECK_FALSE(whole.ok);
    CHECK_FALSE(split.ok);
    CHECK(whole.diagnostics.find("stack") != std::string::npos);
    CHECK(split.diagnostics == whole.diagnostics);
    CHECK(split.more_objects.empty());
}

TEST_CASE("a split filter's halves share its static variable (needs root)" * root_suite) {
    require_root("loading a filter needs root (CAP_BPF)");
    if (!may_split()) return;
    TempDir dir("alf-split");
    CompileResult result = compile_split(dir, shared_static);
    REQUIRE(result.more_objects.size() == 1);
    std::vector<std::uint8_t> linked =
        link_compiled_objects(result.object, result.more_objects, result.hidden_functions, "filter.c");
    auto filter = FilterObject::open(linked, "split");
    filter.load();
    // Its functions static in the BTF, as alfwrapper's own loader takes them.
    CHECK(filter.loaded_by_libbpf_because().empty());
    auto packet = synthetic_tcp_syn(*parse_ip("192.0.2.7"), *parse_ip("192.0.2.1"));
    CHECK(test_run_filter(filter.program_fd(), packet).verdict != 0);
    CHECK(test_run_filter(filter.program_fd(), packet).verdict != 0);
}
