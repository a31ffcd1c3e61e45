#include "inputs/rule_tables.hpp"

#include "common/error.hpp"
#include "common/service_name.hpp"
#include "bpf/bpf_syscall.hpp"
#include "bpf/filter_object.hpp"
#include "bpf/program_metadata.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"
#include "inputs/rule_hits.hpp"
#include "inputs/rule_list.hpp"
#include "inputs/rule_table_memory.hpp"
#include "inputs/rules.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace alf {

ArrayGeometry array_geometry(int map_fd, const char *what) {
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &length) != 0)
        throw system_error(std::string("map ") + what + ": cannot read its size", errno);
    return {info.value_size, info.max_entries, info.id};
}

MappedArray::MappedArray(int map_fd, const char *what, bool lazy) : fd_(map_fd), what_(what) {
    ArrayGeometry g = array_geometry(map_fd, what);
    std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = (std::size_t(g.max_entries) * ((g.value_size + 7) & ~7u) + page - 1) / page * page;
    void *address = lazy ? mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                         : mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (address == MAP_FAILED) throw system_error(std::string("map ") + what + ": cannot map it into memory", errno);
    bytes_ = static_cast<std::uint8_t *>(address);
    if (lazy) mapped_.assign((size_ + piece - 1) / piece, false);
}

namespace {
bool mappings_left_to_exit = false;
}

void leave_rule_mappings_to_exit() { mappings_left_to_exit = true; }

MappedArray::~MappedArray() {
    if (!mappings_left_to_exit) munmap(bytes_, size_);
}

bool MappedArray::mapped(std::size_t offset, std::size_t length) const {
    if (mapped_.empty()) return true;
    if (length == 0 || offset + length > size_) return false;
    for (std::size_t i = offset / piece; i <= (offset + length - 1) / piece; ++i)
        if (!mapped_[i]) return false;
    return true;
}

void MappedArray::ensure(std::size_t offset, std::size_t length) {
    if (mapped_.empty() || length == 0) return;
    if (offset + length > size_) throw Error(std::string("internal error: map ") + what_ + ": read past its end");
    std::size_t last = (offset + length - 1) / piece;
    for (std::size_t i = offset / piece; i <= last; ++i) {
        if (mapped_[i]) continue;
        std::size_t run = i;  // the pieces not yet mapped from i on, mapped at once
        while (run + 1 <= last && !mapped_[run + 1]) ++run;
        std::size_t at = i * piece, bytes = std::min((run + 1 - i) * piece, size_ - at);
        if (mmap(bytes_ + at, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, static_cast<off_t>(at)) ==
            MAP_FAILED)
            throw system_error(std::string("map ") + what_ + ": cannot map it into memory", errno);
        std::fill(mapped_.begin() + static_cast<long>(i), mapped_.begin() + static_cast<long>(run + 1), true);
        i = run;
    }
}

void wait_for_packets_in_flight() {
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) return;
    // No membarrier (a seccomp filter, nohz_full): a packet is judged in
    // well under a microsecond; this is thousands of times that.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

std::uint32_t switch_rules_slot(RulesState &state, std::uint32_t slot, Verdict fallback) {
    std::atomic_ref<std::uint32_t> active(state.active), generation(state.generation);
    std::atomic_ref<std::uint32_t>(state.default_verdict[slot])
        .store(static_cast<std::uint32_t>(fallback), std::memory_order_relaxed);
    // The one store that switches every packet after it to the new set.
    active.store(slot, std::memory_order_release);
    std::uint32_t was = generation.load(std::memory_order_acquire), now = was + 1 == 0 ? 1 : was + 1;
    generation.store(now, std::memory_order_release);
    return now;
}

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

void set_u32_global(FilterObject &filter, const char *variable, std::uint32_t value) {
    if (filter.global_value(variable).size() != sizeof value) not_declared(filter, std::string("global ") + variable);
    std::uint8_t bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    filter.set_global_value(variable, bytes);
}

// Room a table of two slots leaves for rules added while the service runs:
// half again, and at least 1024 ranges (512 rules).
std::size_t ranges_with_room(std::size_t ranges, unsigned slots) {
    return slots < max_slots ? ranges : ranges + ranges / 2 + 1024;
}

template <typename Word>
void apply_layout(FilterObject &filter, const TableKind<Word> &kind, const RuleTableLayout &layout, unsigned slots) {
    bpf_map *map = checked_map(filter, kind.map, true);
    // The verifier follows offsets into a map value up to 512 MiB.
    if (layout.slot_bytes >= (std::size_t(1) << 29))
        throw Error(std::string("rules: a table of ") + std::to_string(layout.capacity()) + " " + kind.family +
                    " address ranges takes " + std::to_string(layout.slot_bytes >> 20) +
                    " MiB, more than a filter can search (512 MiB); merge or drop rules");
    filter.set_map_size(kind.map, slots);
    if (int err = bpf_map__set_value_size(map, static_cast<std::uint32_t>(layout.slot_bytes)); err)
        throw system_error(std::string("map ") + kind.map + ": cannot size it for the rules", -err);
    set_u32_global(filter, kind.index_bits_variable, layout.index_bits);
    set_u32_global(filter, kind.capacity_bits_variable, layout.capacity_bits);
}

// The layout whose slot is value_size bytes (the layout follows from the
// capacity alone).
RuleTableLayout layout_of_slot(std::size_t start_bytes, std::size_t value_size, const char *map) {
    for (unsigned bits = 0; bits < 32; ++bits) {
        RuleTableLayout layout = rule_table_layout(start_bytes, std::size_t(1) << bits);
        if (layout.slot_bytes == value_size) return layout;
        if (layout.slot_bytes > value_size) break;
    }
    throw Error(std::string("map ") + map + ": its value size (" + std::to_string(value_size) +
                ") is not that of a rule table of <alfwrapper/rules.h>");
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

// Starts and verdicts come from the rule compiler. Room for changes while
// the service runs lies among them: after every 32 ranges a copy of the
// 32nd (a search lands on either, with one verdict), and past the last
// range, to the capacity (a power of two), copies of it in meaning: that
// memory is left as it is (the slot may hold an older set there), since no
// search reads past the entry the index gives for addresses after the
// window, the last range; rule_edits.cpp writes the copies where a change
// needs them. A change then shifts entries only up to the nearest copy.
// Then the window and the index.
template <typename Word>
void write_table(std::uint8_t *slot, const TableKind<Word> &kind, const RuleTableLayout &layout, const RuleSet &set,
                 const CompiledRules &compiled) {
    std::size_t n = compiled.*kind.ranges, words = kind.words, capacity = layout.capacity();
    auto starts = view<Word>(slot, layout.starts_offset, words * capacity);
    auto verdicts = view<std::uint8_t>(slot, layout.verdicts_offset, capacity);
    kind.write_ranges(set, compiled, starts.first(words * n), verdicts.first(n));
    // Spread from the back, so that nothing is overwritten before it moves.
    constexpr std::size_t every = 32;
    std::size_t copies = std::min(n / every, capacity - n), used = n + copies;
    auto move = [&](std::size_t from, std::size_t to) {
        std::copy_n(&starts[words * from], words, &starts[words * to]);
        verdicts[to] = verdicts[from];
    };
    for (std::size_t i = n; i-- > 0;) {
        std::size_t before = std::min(i / every, copies), to = i + before;
        if ((i + 1) % every == 0 && (i + 1) / every <= copies) move(i, to + 1);
        if (to != i) move(i, to);
    }
    // The index reads the high word; a bucket's first address has the others 0.
    auto high = [&](std::size_t i) -> std::uint64_t { return starts[words * i]; };
    auto rest_zero = [&](std::size_t i) {
        return std::all_of(&starts[words * i] + 1, &starts[words * i] + words, [](Word w) { return w == 0; });
    };
    RulesWindow window = window_for(used, kind.address_bits, layout.index_bits, high);
    write_index(slot, layout, window, kind.address_bits, used, [&](std::size_t i, std::uint64_t first) {
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

void size_rule_tables(FilterObject &filter, const CompiledRules &compiled, const std::set<std::string> &user_sized,
                      bool count_hits) {
    checked_map(filter, state_name, false);
    unsigned slots = max_slots;
    for (const char *map : {ipv4_table.map, ipv6_table.map}) {
        if (!user_sized.count(map)) continue;
        std::uint32_t given = bpf_map__max_entries(checked_map(filter, map, true));
        if (given > max_slots)
            throw Error(std::string("--map-size ") + map + "=" + std::to_string(given) +
                        ": the map holds 1 rule set, or 2 so that the rules can change while the service runs");
        slots = std::min<unsigned>(slots, given);
    }
    RuleTableLayout ipv4 = rule_table_layout(ipv4_table.start_bytes(), ranges_with_room(compiled.ipv4_ranges, slots)),
                    ipv6 = rule_table_layout(ipv6_table.start_bytes(), ranges_with_room(compiled.ipv6_ranges, slots));
    apply_layout(filter, ipv4_table, ipv4, slots);
    apply_layout(filter, ipv6_table, ipv6, slots);
    size_rule_hits(filter, ipv4, ipv6, count_hits);
}

RuleCapacity rule_capacity(const RuleMaps &maps) {
    ArrayGeometry v4 = array_geometry(maps.ipv4, ipv4_table.map), v6 = array_geometry(maps.ipv6, ipv6_table.map);
    RuleCapacity capacity;
    capacity.slots = std::min(v4.max_entries, v6.max_entries);
    capacity.ipv4 = layout_of_slot(ipv4_table.start_bytes(), v4.value_size, ipv4_table.map);
    capacity.ipv6 = layout_of_slot(ipv6_table.start_bytes(), v6.value_size, ipv6_table.map);
    if (maps.list >= 0) {
        ArrayGeometry list = array_geometry(maps.list, rule_list_map);
        capacity.rules = list.max_entries ? list.max_entries - 1 : 0;
    }
    return capacity;
}

namespace {

void require_fit(const RuleCapacity &capacity, const CompiledRules &compiled, std::size_t rules, bool has_list) {
    auto fits = [](const char *family, std::size_t ranges, const RuleTableLayout &layout) {
        if (ranges > layout.capacity())
            throw Error(std::string("rules: the ") + family + " rules make " + std::to_string(ranges) +
                        " address ranges, and the running table holds " + std::to_string(layout.capacity()) +
                        " (sized when the service started); nothing was changed. Restart the service with "
                        "these rules (under a socket unit, restart the socket too)");
    };
    fits("IPv4", compiled.ipv4_ranges, capacity.ipv4);
    fits("IPv6", compiled.ipv6_ranges, capacity.ipv6);
    if (has_list && rules > capacity.rules)
        throw Error("rules: " + std::to_string(rules) + " rules, and the running filter's rule list holds " +
                    std::to_string(capacity.rules) + " (sized when the service started); nothing was changed. "
                    "Restart the service with these rules (under a socket unit, restart the socket too)");
}

UniqueFd create_rule_list(std::size_t rules, int program_fd) {
    std::size_t entries = 1 + rules;
    if (entries > 0xffffffffu) throw Error("rules: too many rules to list");
    UniqueFd map(create_map(BPF_MAP_TYPE_ARRAY, rule_list_map, sizeof(std::uint32_t), sizeof(RuleRecord),
                            static_cast<std::uint32_t>(entries), BPF_F_MMAPABLE));
    if (!map) throw system_error(std::string("map ") + rule_list_map + ": cannot create it", errno);
    if (bpf_prog_bind_map(program_fd, map.get(), nullptr) != 0)
        throw system_error(std::string("map ") + rule_list_map + ": cannot bind it to the program", errno);
    return map;
}

}  // namespace

void size_rule_tables_as(FilterObject &filter, const CompiledRules &compiled, const RuleMaps &running,
                         bool count_hits) {
    checked_map(filter, state_name, false);
    RuleCapacity capacity = rule_capacity(running);
    require_fit(capacity, compiled, 0, false);
    if (count_hits != counts_rule_hits(running.hits))
        throw Error(std::string("the inherited sockets carry the locked filter of an earlier run, which ") +
                    (count_hits ? "counts no hits per rule, and this run has --rule-hits"
                                : "counts hits per rule (--rule-hits), and this run does not") +
                    ": give the earlier run's options, or restart the socket unit so that systemd creates it anew (" +
                    restart_socket_command() + ")");
    apply_layout(filter, ipv4_table, capacity.ipv4, capacity.slots);
    apply_layout(filter, ipv6_table, capacity.ipv6, capacity.slots);
    size_rule_hits(filter, capacity.ipv4, capacity.ipv6, count_hits);
}

std::uint32_t write_rule_tables(FilterObject &filter, const RuleSet &set, const CompiledRules &compiled,
                                int owner_program_fd) {
    if (compiled.ipv4_ranges == 0 || compiled.ipv6_ranges == 0)
        throw Error("internal error: rule tables written before the rules were compiled");
    if (owner_program_fd < 0) owner_program_fd = filter.program_fd();
    RuleMaps maps{bpf_map__fd(checked_map(filter, ipv4_table.map, true)),
                  bpf_map__fd(checked_map(filter, ipv6_table.map, true)),
                  bpf_map__fd(checked_map(filter, state_name, false)), -1};
    if (bpf_map *hits = filter.map_if_declared(rule_hits_map)) maps.hits = bpf_map__fd(hits);
    UniqueFd list;
    for (auto &map : program_maps(owner_program_fd))
        if (std::strcmp(map.info.name, rule_list_map) == 0 && map.info.value_size == sizeof(RuleRecord))
            list = std::move(map.fd);
    if (!list) list = create_rule_list(ranges_with_room(set.rules.size(), rule_capacity(maps).slots), owner_program_fd);
    maps.list = list.get();
    RulesLock lock(maps);
    return publish_rules(maps, set, compiled);
}

// From this many rules on, the tables and the list are written on two
// threads; a smaller set is written faster than a thread starts.
constexpr std::size_t parallel_rules = 50000;

std::uint32_t publish_rules(const RuleMaps &maps, const RuleSet &set, const CompiledRules &compiled) {
    RuleCapacity capacity = rule_capacity(maps);
    if (compiled.rule_edges != counts_rule_hits(maps.hits))
        throw Error("internal error: rules compiled for a filter that does not count hits per rule as this one does");
    require_fit(capacity, compiled, set.rules.size(), maps.list >= 0);
    MappedArray state_map(maps.state, state_name);
    auto *state = reinterpret_cast<RulesState *>(state_map.bytes());
    std::uint32_t was = std::atomic_ref<std::uint32_t>(state->generation).load(std::memory_order_acquire);
    // The first set goes into slot 0; later ones into the slot not in use,
    // once no packet judged before the last switch still reads it.
    std::uint32_t slot = was == 0 || capacity.slots < 2 ? 0 : (state->active & 1) ^ 1;
    if (was != 0) wait_for_packets_in_flight();
    // The tables and the list of rules share nothing, and at a million rules
    // each takes tens of milliseconds: two threads write them. Readers take
    // the list only once its generation is the state's, which it gets after
    // the switch.
    std::optional<MappedArray> list_map;
    std::optional<RuleListView> list;
    if (maps.list >= 0) {
        list_map.emplace(maps.list, rule_list_map, true);
        list.emplace(*list_map, array_geometry(maps.list, rule_list_map).max_entries);
        list->header().generation = 0;
    }
    // Mapped lazily: the slot written, not the other one.
    auto write_ipv4 = [&] {
        MappedArray table(maps.ipv4, ipv4_table.map, true);
        write_table(table.at<std::uint8_t>(slot * capacity.ipv4.slot_bytes, capacity.ipv4.slot_bytes), ipv4_table,
                    capacity.ipv4, set, compiled);
    };
    auto write_ipv6 = [&] {
        MappedArray table(maps.ipv6, ipv6_table.map, true);
        write_table(table.at<std::uint8_t>(slot * capacity.ipv6.slot_bytes, capacity.ipv6.slot_bytes), ipv6_table,
                    capacity.ipv6, set, compiled);
    };
    auto write_list = [&] {
        if (list) list->write(set.rules);  // in prefix order: compile_rules sorted them
    };
    // The IPv6 table (twice the bytes of an IPv4 one) here, the IPv4 table and the list beside it.
    if (set.rules.size() >= parallel_rules) {
        run_in_parallel(write_ipv6, [&] {
            write_ipv4();
            write_list();
        });
    } else {
        write_ipv4();
        write_ipv6();
        write_list();
    }
    std::uint32_t now = switch_rules_slot(*state, slot, compiled.default_verdict);
    clear_rule_hits(maps);  // every entry now stands for another range
    if (list) {
        // The other slot holds an older set (or none): the first change in
        // place levels it.
        list->header().synced = 0;
        list->header().generation = now;
    }
    return now;
}

RulesState read_rules_state(const RuleMaps &maps) {
    MappedArray state_map(maps.state, state_name);
    RulesState state;
    std::memcpy(&state, state_map.bytes(), sizeof state);
    return state;
}

RuleSet read_rule_list(const RuleMaps &maps) {
    if (maps.list < 0) throw Error(std::string("the filter has no ") + rule_list_map + " (it was started by an alfwrapper "
                                   "before live rules); restart the service to change its rules");
    MappedArray list_map(maps.list, rule_list_map, true);
    RuleListView list(list_map, array_geometry(maps.list, rule_list_map).max_entries);
    // A change being written (under the lock, which readers do not take)
    // stamps the list last: wait a little for it.
    for (int attempt = 0;; ++attempt) {
        RulesState state = read_rules_state(maps);
        RuleListHeader header = list.header();
        bool sane = header.format == 0 ? header.count <= list.room()
                                       : header.format == rule_list_format && header.records <= list.room();
        if (header.generation == state.generation && sane) {
            RuleSet set;
            set.sources = {"running rules"};
            set.rules = list.rules();
            if (list.header().generation == header.generation) return set;
        }
        if (attempt == 100)
            throw Error("the running filter's list of rules does not describe the rules in force (generation " +
                        std::to_string(header.generation) + ", in force " + std::to_string(state.generation) +
                        ": a change was interrupted); set them anew with alfctl rules NAME replace");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

RulesLock::RulesLock(const RuleMaps &maps) {
    // An abstract socket address: taken while this process holds it, free
    // the moment it exits, nothing on disk.
    std::string name = "alfwrapper-rules-" + std::to_string(array_geometry(maps.state, state_name).id);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw system_error("rules: cannot create the lock socket", errno);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (bind(fd_, reinterpret_cast<sockaddr *>(&address), length) != 0) {
        int err = errno;
        if (err != EADDRINUSE || std::chrono::steady_clock::now() > deadline) {
            ::close(fd_);
            if (err == EADDRINUSE)
                throw Error("rules: another process has been changing this filter's rules for 30 s; try again");
            throw system_error("rules: cannot take the lock", err);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

RulesLock::~RulesLock() { ::close(fd_); }

}  // namespace alf
