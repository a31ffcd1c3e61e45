// One layout, two languages: <alfwrapper/rules.h> as the filter compiler
// sees it (its BTF) against the structs and the slot layout rule_tables
// writes.
#include "bpf/filter_object.hpp"
#include "common/net_address.hpp"
#include "inputs/rule_tables.hpp"
#include "workbench/test_run.hpp"
#include "test_support.hpp"

#include <bpf/btf.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <map>
#include <ostream>
#include <string>

using namespace alf;

namespace {

// The header in use. BTF describes globals, maps and functions, not the
// types of locals: the window, which the header reads through a pointer,
// gets a global of its own. The first program returns what the header
// computes for the starts' offset.
const char *layout_source = R"(
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

const volatile __u32 layout_index_bits = 1;
struct alf_rules_window layout_window;

SEC("socket") int starts_offset(struct __sk_buff *skb)
{
	return alf_rules_starts_offset(layout_index_bits);
}

SEC("socket") int filter(struct __sk_buff *skb)
{
	struct alf_packet p;

	if (alf_packet_parse(skb, &p) < 0 || alf_rules_decide(&p) != ALF_RULE_ALLOW)
		return ALF_DROP;
	return alf_rules_decide_skb(skb) == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
)";

struct Member {
    std::size_t offset = 0, size = 0;
    bool operator==(const Member &) const = default;
};

struct StructLayout {
    std::size_t size = 0;
    std::map<std::string, Member> members;
    bool operator==(const StructLayout &) const = default;
};

// "size 16: active@0+4 generation@4+4 ...", for a failed comparison.
std::ostream &operator<<(std::ostream &out, const StructLayout &layout) {
    out << "size " << layout.size << ":";
    for (const auto &[name, member] : layout.members) out << " " << name << "@" << member.offset << "+" << member.size;
    return out;
}

// A struct as the BTF describes it: its size, and each member's byte offset and size.
StructLayout struct_in_btf(const struct btf *btf, const char *name) {
    int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
    REQUIRE_MESSAGE(id > 0, "struct " << std::string(name) << " is not in the compiled header's BTF");
    const btf_type *type = btf__type_by_id(btf, static_cast<std::uint32_t>(id));
    StructLayout layout;
    layout.size = type->size;
    const btf_member *member = btf_members(type);
    for (int i = 0; i < btf_vlen(type); ++i, ++member) {
        std::uint32_t bits = btf_member_bit_offset(type, static_cast<std::uint32_t>(i));
        REQUIRE(bits % 8 == 0);
        long long size = btf__resolve_size(btf, member->type);
        REQUIRE(size > 0);
        layout.members[btf__name_by_offset(btf, member->name_off)] = {bits / 8, static_cast<std::size_t>(size)};
    }
    return layout;
}

std::uint32_t u32_global(const FilterObject &filter, const std::string &name) {
    std::vector<std::uint8_t> bytes = filter.global_value(name);
    REQUIRE_MESSAGE(bytes.size() == 4, "global " << name);
    std::uint32_t value;
    std::memcpy(&value, bytes.data(), sizeof value);
    return value;
}

std::uint32_t value_size_of(const FilterObject &filter, const std::string &map) {
    for (const MapDescription &m : filter.maps())
        if (m.name == map) return m.value_size;
    FAIL("no map " << map);
    return 0;
}

}  // namespace

TEST_CASE("the structs of <alfwrapper/rules.h> are laid out as the C++ side writes them") {
    FilterObject filter = compile_test_filter(layout_source, "rules_layout.c");
    const struct btf *btf = filter.btf();
    REQUIRE(btf);

    CHECK(struct_in_btf(btf, "alf_rules_state") ==
          StructLayout{sizeof(RulesState),
                       {{"active", {offsetof(RulesState, active), sizeof(RulesState::active)}},
                        {"generation", {offsetof(RulesState, generation), sizeof(RulesState::generation)}},
                        {"default_verdict",
                         {offsetof(RulesState, default_verdict), sizeof(RulesState::default_verdict)}}}});
    CHECK(struct_in_btf(btf, "alf_rules_window") ==
          StructLayout{sizeof(RulesWindow),
                       {{"prefix", {offsetof(RulesWindow, prefix), sizeof(RulesWindow::prefix)}},
                        {"bits", {offsetof(RulesWindow, bits), sizeof(RulesWindow::bits)}},
                        {"zero", {offsetof(RulesWindow, zero), sizeof(RulesWindow::zero)}}}});

    CHECK(value_size_of(filter, "alf_rules_state") == sizeof(RulesState));
}

TEST_CASE("the header's default tables are the layout of one range") {
    FilterObject filter = compile_test_filter(layout_source, "rules_layout.c");
    struct Table {
        const char *map, *index_bits, *capacity_bits;
        std::size_t start_bytes;
    };
    for (Table table : {Table{"alf_rules4", "alf_rules4_index_bits", "alf_rules4_capacity_bits", rule_start_bytes4},
                        Table{"alf_rules6", "alf_rules6_index_bits", "alf_rules6_capacity_bits", rule_start_bytes6}}) {
        INFO(table.map);
        RuleTableLayout one_range = rule_table_layout(table.start_bytes, 1);
        CHECK(value_size_of(filter, table.map) == one_range.slot_bytes);
        CHECK(u32_global(filter, table.index_bits) == one_range.index_bits);
        CHECK(u32_global(filter, table.capacity_bits) == one_range.capacity_bits);
    }
}

TEST_CASE("the header finds the starts where the C++ side writes them (needs root)" * root_suite) {
    require_root("running a filter needs root (CAP_BPF)");
    std::vector<std::uint8_t> object = compile_test_object(layout_source, "rules_layout.c");
    std::vector<std::uint8_t> frame = synthetic_tcp_syn(*parse_ip("192.0.2.2"), *parse_ip("192.0.2.1"));
    // Index bits 1 to 24, each from the number of ranges that chooses it.
    for (unsigned index_bits = 1; index_bits <= 24; ++index_bits) {
        RuleTableLayout layout = rule_table_layout(rule_start_bytes4, std::size_t(1) << (index_bits + 1));
        REQUIRE(layout.index_bits == index_bits);
        FilterObject filter = FilterObject::open(object, "rules_layout.c");
        std::uint8_t bytes[4];
        std::memcpy(bytes, &index_bits, sizeof bytes);
        filter.set_global_value("layout_index_bits", bytes);
        filter.load("starts_offset");
        INFO("index bits " << index_bits);
        CHECK(test_run_filter(filter.program_fd(), frame).verdict == layout.starts_offset);
    }
}
