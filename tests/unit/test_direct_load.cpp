// The project's own loader (bpf/direct_load.hpp) against libbpf's load of
// the same object: the kernel must hold the same program (its tag, which
// hashes the instructions, its translated and machine code sizes, its func
// and line info) with the same maps (kind, sizes, flags, BTF types, and the
// global data they start with).
#include "bpf/filter_object.hpp"
#include "compile/builtin_filters.hpp"
#include "common/unique_fd.hpp"
#include "test_support.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

using alf::FilterObject;
using alf::UniqueFd;

std::string hex(const std::uint8_t *bytes, std::size_t size) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < size; ++i) {
        text += digits[bytes[i] >> 4];
        text += digits[bytes[i] & 15];
    }
    return text;
}

// A map as the kernel describes it; the first value too for global data.
std::string describe_map(std::uint32_t id) {
    UniqueFd fd(bpf_map_get_fd_by_id(id));
    REQUIRE(fd);
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(fd.get(), &info, &length) == 0);
    std::string text = std::string(info.name) + " type " + std::to_string(info.type) + " key " +
                       std::to_string(info.key_size) + " value " + std::to_string(info.value_size) + " entries " +
                       std::to_string(info.max_entries) + " flags " + std::to_string(info.map_flags) + " btf " +
                       std::to_string(info.btf_key_type_id) + "/" + std::to_string(info.btf_value_type_id);
    if (std::strchr(info.name, '.')) {
        std::vector<std::uint8_t> value(info.value_size);
        std::uint32_t zero = 0;
        REQUIRE(bpf_map_lookup_elem(fd.get(), &zero, value.data()) == 0);
        text += " data " + hex(value.data(), value.size());
    }
    return text;
}

// Everything the kernel says of a loaded program that the loader decides.
std::vector<std::string> describe_program(int program_fd) {
    bpf_prog_info counts{};
    std::uint32_t length = sizeof counts;
    REQUIRE(bpf_obj_get_info_by_fd(program_fd, &counts, &length) == 0);
    std::vector<bpf_func_info> funcs(counts.nr_func_info);
    std::vector<bpf_line_info> lines(counts.nr_line_info);
    std::vector<std::uint32_t> map_ids(counts.nr_map_ids);
    bpf_prog_info info{};
    info.nr_func_info = counts.nr_func_info;
    info.func_info_rec_size = sizeof(bpf_func_info);
    info.func_info = reinterpret_cast<std::uintptr_t>(funcs.data());
    info.nr_line_info = counts.nr_line_info;
    info.line_info_rec_size = sizeof(bpf_line_info);
    info.line_info = reinterpret_cast<std::uintptr_t>(lines.data());
    info.nr_map_ids = counts.nr_map_ids;
    info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids.data());
    length = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(program_fd, &info, &length) == 0);

    std::vector<std::string> facts = {
        std::string("name ") + info.name,
        "tag " + hex(info.tag, sizeof info.tag),
        "translated " + std::to_string(info.xlated_prog_len) + " bytes, machine code " +
            std::to_string(info.jited_prog_len) + " bytes",
        "gpl " + std::to_string(info.gpl_compatible),
    };
    for (const auto &f : funcs) facts.push_back("func " + std::to_string(f.insn_off) + " type " + std::to_string(f.type_id));
    for (const auto &l : lines)
        facts.push_back("line " + std::to_string(l.insn_off) + " file " + std::to_string(l.file_name_off) + " text " +
                        std::to_string(l.line_off) + " at " + std::to_string(l.line_col));
    std::vector<std::string> maps;
    for (std::uint32_t id : map_ids) maps.push_back("map " + describe_map(id));
    std::sort(maps.begin(), maps.end());
    facts.insert(facts.end(), maps.begin(), maps.end());
    return facts;
}

struct Loaded {
    std::vector<std::string> facts;
    std::string libbpf_because;
    std::uint32_t instructions = 0;
};

Loaded load(std::span<const std::uint8_t> object, const std::string &name, bool through_libbpf) {
    FilterObject filter = FilterObject::open(object, name);
    if (through_libbpf) filter.load_through_libbpf();
    filter.load();
    return {describe_program(filter.program_fd()), filter.loaded_by_libbpf_because(), filter.program_instructions()};
}

void check_same_as_libbpf(std::span<const std::uint8_t> object, const std::string &name) {
    INFO("filter " << name);
    Loaded own = load(object, name, false);
    Loaded libbpf = load(object, name, true);
    CHECK(own.libbpf_because == "");
    CHECK(libbpf.libbpf_because == "asked for");
    CHECK(own.instructions == libbpf.instructions);
    CHECK(own.facts.size() == libbpf.facts.size());
    for (std::size_t i = 0; i < std::min(own.facts.size(), libbpf.facts.size()); ++i) CHECK(own.facts[i] == libbpf.facts[i]);
}

// Subprograms calling subprograms (static and global), global data of every
// kind, and a string literal (.rodata.str1.1).
const char *const subprograms_and_data = R"(
#include <alfwrapper/filter.h>

__u32 seen_bss;
__u32 seen_data = 7;
__u32 seen_custom SEC(".data.custom") = 5;
const volatile __u32 limit = 60;
char text_data[16] = "data";

static __noinline int inner(__u32 len)
{
	seen_bss += 1;
	seen_custom += len;
	return len > limit;
}

static __noinline int outer(__u32 len)
{
	seen_data += inner(len);
	return inner(len + 1) + (text_data[0] == 'd');
}

__noinline int global_check(struct __sk_buff *skb)
{
	if (!skb)
		return 0;
	return skb->len > 20;
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	static const char name[] = "a string literal";
	if (outer(skb->len) && global_check(skb) && name[3] == 't')
		return ALF_PASS;
	return inner(skb->len) ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
)";

// bpf_loop() callbacks: ld_imm64s of functions (the kernel takes static ones only).
const char *const with_callbacks = R"(
#include <alfwrapper/filter.h>

static long count(__u32 index, void *context)
{
	*(__u32 *)context += index;
	return 0;
}

static long count_twice(__u32 index, void *context)
{
	*(__u32 *)context += 2 * index;
	return 0;
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	__u32 sum = 0;
	bpf_loop(4, count, &sum, 0);
	bpf_loop(skb->len & 7, count_twice, &sum, 0);
	return sum == 6 ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
)";

}  // namespace

TEST_CASE("the own loader gives the kernel what libbpf gives it, for every library filter" * root_suite) {
    require_root("loading filters needs root");
    auto names = alf::builtin_filter_names();
    REQUIRE(names.size() >= 8);
    for (const std::string &name : names) check_same_as_libbpf(*alf::find_builtin_filter(name), name);
}

TEST_CASE("the own loader lays out nested and global subprograms and every data section as libbpf does" * root_suite) {
    require_root("loading filters needs root");
    std::vector<std::uint8_t> object = compile_test_object(subprograms_and_data, "subprograms.c");
    check_same_as_libbpf(object, "subprograms.c");
    Loaded own = load(object, "subprograms.c", false);
    // filter, outer, inner, global_check: four functions, each with its func info.
    CHECK(std::count_if(own.facts.begin(), own.facts.end(), [](const std::string &f) { return f.starts_with("func "); }) == 4);
    for (const char *map : {".bss ", ".data ", ".rodata ", "map .data.custom "})
        CHECK(std::count_if(own.facts.begin(), own.facts.end(), [&](const std::string &f) {
                  return f.starts_with("map ") && f.find(map) != std::string::npos;
              }) == 1);
}

TEST_CASE("the own loader points callbacks as libbpf does" * root_suite) {
    require_root("loading filters needs root");
    check_same_as_libbpf(compile_test_object(with_callbacks, "callbacks.c"), "callbacks.c");
}

TEST_CASE("what the own loader does not handle is loaded by libbpf, which says why" * root_suite) {
    require_root("loading filters needs root");
    // libbpf sizes a perf event array without max_entries by the CPUs.
    std::vector<std::uint8_t> object = compile_test_object(R"(
#include <alfwrapper/filter.h>
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");
SEC("socket")
int filter(struct __sk_buff *skb)
{
	return ALF_PASS;
}
char LICENSE[] SEC("license") = "GPL";
)",
                                                           "perf_events.c");
    Loaded loaded = load(object, "perf_events.c", false);
    CHECK(loaded.libbpf_because == "map events is of a type with special handling");
    CHECK(loaded.instructions >= 2);
}

TEST_CASE("a program the verifier refuses is reported as before, from libbpf's log" * root_suite) {
    require_root("loading filters needs root");
    std::vector<std::uint8_t> object = compile_test_object(R"(
#include <alfwrapper/filter.h>
SEC("socket")
int filter(struct __sk_buff *skb)
{
	__u8 *p = (__u8 *)(long)skb->len;
	return *p;
}
char LICENSE[] SEC("license") = "GPL";
)",
                                                           "refused.c");
    FilterObject filter = FilterObject::open(object, "refused.c");
    std::string message;
    try {
        filter.load();
    } catch (const alf::VerifierRejection &e) {
        message = e.what();
    }
    INFO(message);
    CHECK(message.find("refused.c:7: error:") != std::string::npos);
    CHECK(filter.loaded_by_libbpf_because().starts_with("the kernel refused the program: "));
}
