// The fast pipeline (alfwrapper's compile of a source). Its inlining: every
// call of an always_inline function ends inside the functions that stay
// (programs, BPF functions, callbacks), and the always_inline bodies go,
// except one whose address is taken (a bpf_loop callback) and one that
// can call itself, which stay functions as LLVM's always-inline pass
// leaves them. Its compile without lifetime markers: a filter whose locals
// fit the BPF stack only where scopes share it is compiled again with them.
#include "bpf/elf_object.hpp"
#include "compile_source.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace alf;

namespace {

CompileResult compile_fast(const std::string &source) {
    TempDir dir("alf-fast");
    return compile_source_file(dir.file("filter.c"),
                               "#include <alfwrapper/filter.h>\n" + source + "char LICENSE[] SEC(\"license\") = \"GPL\";\n",
                               Optimization::fast);
}

// The names of the object's function symbols.
std::set<std::string> functions_of(const std::string &source) {
    CompileResult result = compile_fast(source);
    INFO(result.diagnostics);
    REQUIRE(result.ok);
    ElfObject object(result.object);
    REQUIRE(object.valid());
    std::set<std::string> names;
    for (const auto &symbol : object.symbols())
        if (ELF64_ST_TYPE(symbol.symbol.st_info) == STT_FUNC) names.insert(std::string(symbol.name));
    return names;
}

}  // namespace

TEST_CASE("a chain of always_inline calls ends in the program and in the BPF function that calls it") {
    auto names = functions_of(R"(
static __always_inline int leaf(struct __sk_buff *skb) { return skb->len > 40; }
static __always_inline int middle(struct __sk_buff *skb) { return leaf(skb) + (skb->protocol == 8); }
static __always_inline int top(struct __sk_buff *skb) { return middle(skb) * 2 + leaf(skb); }
static __noinline int shared(struct __sk_buff *skb) { return top(skb) > 1; }
SEC("socket") int filter(struct __sk_buff *skb) { return shared(skb) && top(skb) ? ALF_PASS : ALF_DROP; }
)");
    CHECK(names.count("filter"));
    CHECK(names.count("shared"));
    CHECK_FALSE(names.count("top"));
    CHECK_FALSE(names.count("middle"));
    CHECK_FALSE(names.count("leaf"));
}

TEST_CASE("an always_inline function whose address is taken stays a function, and its calls are inlined") {
    auto names = functions_of(R"(
static __always_inline int odd(__u64 i) { return i & 1; }
static __always_inline long count(__u64 i, void *ctx) { *(__u64 *)ctx += odd(i); return 0; }
SEC("socket") int filter(struct __sk_buff *skb)
{
	__u64 n = 0;

	bpf_loop(8, count, &n, 0);
	return n + count(skb->len, &n) ? ALF_PASS : ALF_DROP;
}
)");
    CHECK(names.count("filter"));
    CHECK(names.count("count"));
    CHECK_FALSE(names.count("odd"));
}

TEST_CASE("always_inline functions that call each other in a cycle: the compile ends, the cycle stays calls") {
    auto names = functions_of(R"(
static __always_inline int down(int n);
static __always_inline int up(int n) { return n > 0 ? down(n - 1) + down(n - 2) : 0; }
static __always_inline int down(int n) { return n > 0 ? up(n - 1) + up(n - 2) : 1; }
static __always_inline int entry(int n) { return up(n) + 1; }
SEC("socket") int filter(struct __sk_buff *skb) { return entry(skb->len & 7) > 3 ? ALF_PASS : ALF_DROP; }
)");
    CHECK(names.count("filter"));
    CHECK_FALSE(names.count("entry"));
    CHECK(names.size() >= 2);  // up or down, or both, left as functions
}

namespace {

// Two buffers of `buffer` bytes, one a scope: twice that of stack unless
// the scopes share it, and 512 is the BPF target's limit.
std::string two_scopes(int buffer) {
    std::string n = std::to_string(buffer);
    return R"(
SEC("socket") int filter(struct __sk_buff *skb)
{
	if (skb->len > 100) {
		__u8 a[)" + n + R"(];

		if (bpf_skb_load_bytes(skb, 0, a, sizeof(a)) < 0)
			return ALF_DROP;
		return a[skb->len & 255] ? ALF_PASS : ALF_DROP;
	} else {
		__u8 b[)" + n + R"(];

		if (bpf_skb_load_bytes(skb, 0, b, sizeof(b)) < 0)
			return ALF_DROP;
		return b[(skb->len + 1) & 255] ? ALF_PASS : ALF_DROP;
	}
}
)";
}

}  // namespace

TEST_CASE("locals of scopes that never overlap share the BPF stack: a filter that needs it compiles") {
    CompileResult result = compile_fast(two_scopes(400));
    INFO(result.diagnostics);
    CHECK(result.ok);
    CHECK(result.diagnostics.find("error") == std::string::npos);
}

TEST_CASE("a filter over the BPF stack even with shared scopes: the code generator's error, reported once") {
    CompileResult result = compile_fast(two_scopes(600));
    CHECK_FALSE(result.ok);
    CHECK(result.diagnostics.find("BPF stack limit of 512 bytes is exceeded") != std::string::npos);
    // One compile's messages, not those of every attempt: no line twice.
    std::set<std::string> errors;
    std::size_t start = 0;
    for (std::size_t end; (end = result.diagnostics.find('\n', start)) != std::string::npos; start = end + 1) {
        std::string line = result.diagnostics.substr(start, end - start);
        if (line.find("error:") != std::string::npos) CHECK(errors.insert(line).second);
    }
    CHECK(errors.size() >= 2);
}
