#include "inputs/rule_tables.hpp"

#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "inputs/rules.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>

namespace alf {

namespace {

constexpr const char *state_name = "alf_rules_state";
constexpr unsigned max_slots = 2;

// struct alf_rules_state and struct alf_rules_window of <alfwrapper/rules.h>.
struct RulesState {
    std::uint32_t active, generation, default_verdict[2];
};
struct RulesWindow {
    std::uint64_t prefix;
    std::uint32_t bits, zero;  // zero: see <alfwrapper/rules.h>
};
static_assert(sizeof(RulesWindow) == 16, "layout of struct alf_rules_window");

// One family's table: the map, its layout globals, the size of a start.
struct TableKind {
    const char *map;
    const char *index_bits_variable;
    const char *capacity_bits_variable;
    std::size_t start_bytes;  // 4 (IPv4) or 16 (IPv6)
    unsigned address_bits;    // 32 or 64: the width the index buckets cut
};
constexpr TableKind ipv4_table{"alf_rules4", "alf_rules4_index_bits", "alf_rules4_capacity_bits", 4, 32};
constexpr TableKind ipv6_table{"alf_rules6", "alf_rules6_index_bits", "alf_rules6_capacity_bits", 16, 64};

// The layout of one slot, as <alfwrapper/rules.h> computes it from the two
// globals: index, then starts (16-byte aligned), then verdicts.
struct TableLayout {
    unsigned index_bits = 1, capacity_bits = 0;
    std::size_t starts_offset = 0, verdicts_offset = 0, slot_bytes = 0;

    std::size_t capacity() const { return std::size_t(1) << capacity_bits; }
    std::size_t buckets() const { return std::size_t(1) << index_bits; }
};

// Capacity: the next power of two (so the filter bounds every access with a
// mask). Index: a bucket for every two ranges of capacity, so on addresses
// spread over the space a search takes a step or two after the index load
// (measured at 1M IPv6 prefixes: 78 ns a packet, against 88 ns with a
// bucket for every 8 ranges; 2 bytes of index a range).
TableLayout layout_for(const TableKind &kind, std::size_t ranges) {
    TableLayout layout;
    while (layout.capacity() < ranges) ++layout.capacity_bits;
    layout.index_bits = std::clamp(static_cast<int>(layout.capacity_bits) - 1, 1, 24);
    layout.starts_offset = (sizeof(RulesWindow) + (layout.buckets() + 1) * 4 + 15) & ~std::size_t(15);
    layout.verdicts_offset = layout.starts_offset + layout.capacity() * kind.start_bytes;
    layout.slot_bytes = (layout.verdicts_offset + layout.capacity() + 7) & ~std::size_t(7);
    return layout;
}

bpf_map *find_rule_map(const FilterObject &filter, const char *name) {
    return bpf_object__find_map_by_name(filter.get(), name);
}

[[noreturn]] void not_declared(const FilterObject &filter, const std::string &what) {
    throw Error("filter " + filter.name() + ": " + what +
                " is not as <alfwrapper/rules.h> declares it; a filter takes rules by including that header");
}

bpf_map *checked_map(const FilterObject &filter, const char *name, bool table) {
    bpf_map *map = find_rule_map(filter, name);
    if (!map || bpf_map__type(map) != BPF_MAP_TYPE_ARRAY || !(bpf_map__map_flags(map) & BPF_F_MMAPABLE) ||
        (!table && bpf_map__value_size(map) != sizeof(RulesState)))
        not_declared(filter, std::string("map ") + name);
    return map;
}

std::size_t round_to_pages(std::size_t bytes) {
    std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return (bytes + page - 1) / page * page;
}

// A shared, writable mapping of an array map's values.
class MappedArray {
public:
    explicit MappedArray(bpf_map *map)
        : size_(round_to_pages(std::size_t(bpf_map__max_entries(map)) * ((bpf_map__value_size(map) + 7) & ~7u))) {
        void *address = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
        if (address == MAP_FAILED)
            throw system_error(std::string("map ") + bpf_map__name(map) + ": cannot map it into memory", errno);
        bytes_ = static_cast<std::uint8_t *>(address);
    }
    ~MappedArray() { munmap(bytes_, size_); }
    MappedArray(const MappedArray &) = delete;
    MappedArray &operator=(const MappedArray &) = delete;

    std::uint8_t *bytes() const { return bytes_; }

private:
    std::size_t size_;
    std::uint8_t *bytes_ = nullptr;
};

template <typename T>
std::span<T> view(std::uint8_t *base, std::size_t offset, std::size_t count) {
    return {reinterpret_cast<T *>(base + offset), count};
}

void set_u32_global(FilterObject &filter, const char *variable, std::uint32_t value) {
    if (filter.global_value(variable).size() != sizeof value) not_declared(filter, std::string("global ") + variable);
    std::uint8_t bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    filter.set_global_value(variable, bytes);
}

void size_table(FilterObject &filter, const TableKind &kind, std::size_t ranges,
                const std::set<std::string> &user_sized) {
    bpf_map *map = checked_map(filter, kind.map, true);
    TableLayout layout = layout_for(kind, ranges);
    // The verifier follows offsets into a map value up to 512 MiB.
    if (layout.slot_bytes >= (std::size_t(1) << 29))
        throw Error("rules: " + std::to_string(ranges) + (kind.start_bytes == 4 ? " IPv4" : " IPv6") +
                    " address ranges need a table of " + std::to_string(layout.slot_bytes >> 20) +
                    " MiB, more than a filter can search (512 MiB); merge or drop rules");
    if (user_sized.count(kind.map) && bpf_map__max_entries(map) > max_slots)
        throw Error(std::string("--map-size ") + kind.map + "=" + std::to_string(bpf_map__max_entries(map)) +
                    ": the map holds 1 rule set, or 2 to leave room for swapping in a new one");
    if (!user_sized.count(kind.map)) filter.set_map_size(kind.map, 1);
    if (int err = bpf_map__set_value_size(map, static_cast<std::uint32_t>(layout.slot_bytes)); err)
        throw system_error(std::string("map ") + kind.map + ": cannot size it for the rules", -err);
    set_u32_global(filter, kind.index_bits_variable, layout.index_bits);
    set_u32_global(filter, kind.capacity_bits_variable, layout.capacity_bits);
}

// The window the index cuts: the leading bits that the starts after 0 (the
// rules' own boundaries) share, leaving room for the index bits. `key` gives
// a range's start as the width-bit number the index reads.
template <typename KeyOf>
RulesWindow window_for(std::size_t ranges, unsigned width, unsigned index_bits, KeyOf key) {
    RulesWindow window{};
    if (ranges < 2) return window;
    std::uint64_t first = key(1), last = key(ranges - 1), differ = first ^ last;
    unsigned shared = 0;
    while (shared < width && !(differ >> (width - 1 - shared) & 1)) ++shared;
    window.bits = std::min(shared, width - index_bits);
    window.prefix = window.bits ? first >> (width - window.bits) : 0;
    return window;
}

// The index: for each bucket of the window, the range holding its first
// address (`at_or_before(i, first)`: range i starts at or before it).
template <typename AtOrBefore>
void write_index(std::uint8_t *slot, const TableLayout &layout, const RulesWindow &window, unsigned width,
                 std::size_t ranges, AtOrBefore at_or_before) {
    std::memcpy(slot, &window, sizeof window);
    auto index = view<std::uint32_t>(slot, sizeof window, layout.buckets() + 1);
    std::size_t range = 0;
    unsigned shift = width - window.bits - layout.index_bits;
    std::uint64_t window_start = window.bits ? window.prefix << (width - window.bits) : 0;
    for (std::size_t bucket = 0; bucket < layout.buckets(); ++bucket) {
        std::uint64_t first = window_start | (std::uint64_t(bucket) << shift);
        while (range + 1 < ranges && at_or_before(range + 1, first)) ++range;
        index[bucket] = static_cast<std::uint32_t>(range);
    }
    index[layout.buckets()] = static_cast<std::uint32_t>(ranges - 1);
}

// Starts and verdicts come from the rule compiler; past the count, the last
// range repeats (a search never lands there, but the capacity is a power of
// two); then the window and the index.
void write_table4(std::uint8_t *slot, const RuleSet &set, const CompiledRules &compiled) {
    TableLayout layout = layout_for(ipv4_table, compiled.ipv4_ranges);
    std::size_t n = compiled.ipv4_ranges;
    auto starts = view<std::uint32_t>(slot, layout.starts_offset, layout.capacity());
    auto verdicts = view<std::uint8_t>(slot, layout.verdicts_offset, layout.capacity());
    write_ranges4(set, compiled, starts.first(n), verdicts.first(n));
    std::fill(starts.begin() + static_cast<std::ptrdiff_t>(n), starts.end(), starts[n - 1]);
    std::fill(verdicts.begin() + static_cast<std::ptrdiff_t>(n), verdicts.end(), verdicts[n - 1]);
    RulesWindow window = window_for(n, 32, layout.index_bits, [&](std::size_t i) { return starts[i]; });
    write_index(slot, layout, window, 32, n, [&](std::size_t i, std::uint64_t first) { return starts[i] <= first; });
}

void write_table6(std::uint8_t *slot, const RuleSet &set, const CompiledRules &compiled) {
    TableLayout layout = layout_for(ipv6_table, compiled.ipv6_ranges);
    std::size_t n = compiled.ipv6_ranges;
    auto starts = view<std::uint64_t>(slot, layout.starts_offset, 2 * layout.capacity());
    auto verdicts = view<std::uint8_t>(slot, layout.verdicts_offset, layout.capacity());
    write_ranges6(set, compiled, starts.first(2 * n), verdicts.first(n));
    for (std::size_t i = n; i < layout.capacity(); ++i) {
        starts[2 * i] = starts[2 * n - 2];
        starts[2 * i + 1] = starts[2 * n - 1];
        verdicts[i] = verdicts[n - 1];
    }
    // The index reads the high half; a bucket's first address has a low half of 0.
    RulesWindow window = window_for(n, 64, layout.index_bits, [&](std::size_t i) { return starts[2 * i]; });
    write_index(slot, layout, window, 64, n, [&](std::size_t i, std::uint64_t first) {
        return starts[2 * i] < first || (starts[2 * i] == first && starts[2 * i + 1] == 0);
    });
}

}  // namespace

bool filter_takes_rules(const FilterObject &filter) {
    return find_rule_map(filter, ipv4_table.map) || find_rule_map(filter, ipv6_table.map) ||
           find_rule_map(filter, state_name);
}

void size_rule_tables(FilterObject &filter, const CompiledRules &compiled, const std::set<std::string> &user_sized) {
    checked_map(filter, state_name, false);
    size_table(filter, ipv4_table, compiled.ipv4_ranges, user_sized);
    size_table(filter, ipv6_table, compiled.ipv6_ranges, user_sized);
}

void write_rule_tables(FilterObject &filter, const RuleSet &set, const CompiledRules &compiled) {
    if (compiled.ipv4_ranges == 0 || compiled.ipv6_ranges == 0)
        throw Error("internal error: rule tables written before the rules were compiled");
    {
        MappedArray table(checked_map(filter, ipv4_table.map, true));
        write_table4(table.bytes(), set, compiled);
    }
    {
        MappedArray table(checked_map(filter, ipv6_table.map, true));
        write_table6(table.bytes(), set, compiled);
    }
    RulesState state{};
    state.generation = 1;
    state.default_verdict[0] = state.default_verdict[1] = static_cast<std::uint32_t>(compiled.default_verdict);
    std::uint32_t zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(checked_map(filter, state_name, false)), &zero, &state, BPF_ANY) != 0)
        throw system_error(std::string("map ") + state_name + ": cannot write the rule set's state", errno);
}

}  // namespace alf
