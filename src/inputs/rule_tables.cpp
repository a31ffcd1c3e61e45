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

// One family's table: the map, its layout globals, how its ranges are
// written. A start is `words` words, the high one first; the index buckets
// cut the high word.
template <typename Word>
struct TableKind {
    const char *map;
    const char *index_bits_variable;
    const char *capacity_bits_variable;
    const char *family;
    std::size_t words;
    std::size_t CompiledRules::*ranges;
    void (*write_ranges)(const RuleSet &, const CompiledRules &, std::span<Word>, std::span<std::uint8_t>);

    static constexpr unsigned address_bits = 8 * sizeof(Word);
    constexpr std::size_t start_bytes() const { return words * sizeof(Word); }
};
constexpr TableKind<std::uint32_t> ipv4_table{"alf_rules4", "alf_rules4_index_bits", "alf_rules4_capacity_bits",
                                              "IPv4", 1, &CompiledRules::ipv4_ranges, write_ranges4};
constexpr TableKind<std::uint64_t> ipv6_table{"alf_rules6", "alf_rules6_index_bits", "alf_rules6_capacity_bits",
                                              "IPv6", 2, &CompiledRules::ipv6_ranges, write_ranges6};
static_assert(ipv4_table.start_bytes() == rule_start_bytes4 && ipv6_table.start_bytes() == rule_start_bytes6);

[[noreturn]] void not_declared(const FilterObject &filter, const std::string &what) {
    throw Error("filter " + filter.name() + ": " + what +
                " is not as <alfwrapper/rules.h> declares it; a filter takes rules by including that header");
}

bpf_map *checked_map(const FilterObject &filter, const char *name, bool table) {
    bpf_map *map = filter.map_if_declared(name);
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

template <typename Word>
void size_table(FilterObject &filter, const TableKind<Word> &kind, const CompiledRules &compiled,
                const std::set<std::string> &user_sized) {
    bpf_map *map = checked_map(filter, kind.map, true);
    std::size_t ranges = compiled.*kind.ranges;
    RuleTableLayout layout = rule_table_layout(kind.start_bytes(), ranges);
    // The verifier follows offsets into a map value up to 512 MiB.
    if (layout.slot_bytes >= (std::size_t(1) << 29))
        throw Error("rules: " + std::to_string(ranges) + " " + kind.family +
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
void write_index(std::uint8_t *slot, const RuleTableLayout &layout, const RulesWindow &window, unsigned width,
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
template <typename Word>
void write_table(std::uint8_t *slot, const TableKind<Word> &kind, const RuleSet &set, const CompiledRules &compiled) {
    std::size_t n = compiled.*kind.ranges, words = kind.words;
    RuleTableLayout layout = rule_table_layout(kind.start_bytes(), n);
    auto starts = view<Word>(slot, layout.starts_offset, words * layout.capacity());
    auto verdicts = view<std::uint8_t>(slot, layout.verdicts_offset, layout.capacity());
    kind.write_ranges(set, compiled, starts.first(words * n), verdicts.first(n));
    for (std::size_t i = n; i < layout.capacity(); ++i) {
        std::copy_n(&starts[words * (n - 1)], words, &starts[words * i]);
        verdicts[i] = verdicts[n - 1];
    }
    // The index reads the high word; a bucket's first address has the others 0.
    auto high = [&](std::size_t i) -> std::uint64_t { return starts[words * i]; };
    auto rest_zero = [&](std::size_t i) {
        return std::all_of(&starts[words * i] + 1, &starts[words * i] + words, [](Word w) { return w == 0; });
    };
    RulesWindow window = window_for(n, kind.address_bits, layout.index_bits, high);
    write_index(slot, layout, window, kind.address_bits, n, [&](std::size_t i, std::uint64_t first) {
        return high(i) < first || (high(i) == first && rest_zero(i));
    });
}

}  // namespace

// Capacity: the next power of two (so the filter bounds every access with a
// mask). Index: a bucket for every two ranges of capacity, so on addresses
// spread over the space a search takes a step or two after the index load
// (measured at 1M IPv6 prefixes: 78 ns a packet, against 88 ns with a
// bucket for every 8 ranges; 2 bytes of index a range).
RuleTableLayout rule_table_layout(std::size_t start_bytes, std::size_t ranges) {
    RuleTableLayout layout;
    while (layout.capacity() < ranges) ++layout.capacity_bits;
    layout.index_bits = std::clamp(static_cast<int>(layout.capacity_bits) - 1, 1, 24);
    layout.starts_offset = (sizeof(RulesWindow) + (layout.buckets() + 1) * 4 + 15) & ~std::size_t(15);
    layout.verdicts_offset = layout.starts_offset + layout.capacity() * start_bytes;
    layout.slot_bytes = (layout.verdicts_offset + layout.capacity() + 7) & ~std::size_t(7);
    return layout;
}

bool filter_takes_rules(const FilterObject &filter) {
    return filter.map_if_declared(ipv4_table.map) || filter.map_if_declared(ipv6_table.map) ||
           filter.map_if_declared(state_name);
}

void size_rule_tables(FilterObject &filter, const CompiledRules &compiled, const std::set<std::string> &user_sized) {
    checked_map(filter, state_name, false);
    size_table(filter, ipv4_table, compiled, user_sized);
    size_table(filter, ipv6_table, compiled, user_sized);
}

void write_rule_tables(FilterObject &filter, const RuleSet &set, const CompiledRules &compiled) {
    if (compiled.ipv4_ranges == 0 || compiled.ipv6_ranges == 0)
        throw Error("internal error: rule tables written before the rules were compiled");
    {
        MappedArray table(checked_map(filter, ipv4_table.map, true));
        write_table(table.bytes(), ipv4_table, set, compiled);
    }
    {
        MappedArray table(checked_map(filter, ipv6_table.map, true));
        write_table(table.bytes(), ipv6_table, set, compiled);
    }
    RulesState state{};
    state.generation = 1;
    state.default_verdict[0] = state.default_verdict[1] = static_cast<std::uint32_t>(compiled.default_verdict);
    std::uint32_t zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(checked_map(filter, state_name, false)), &zero, &state, BPF_ANY) != 0)
        throw system_error(std::string("map ") + state_name + ": cannot write the rule set's state", errno);
}

}  // namespace alf
