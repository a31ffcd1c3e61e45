#include "inputs/rule_edits.hpp"

#include "common/error.hpp"
#include "inputs/rule_hits.hpp"
#include "inputs/rule_list.hpp"
#include "inputs/rule_table_memory.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

namespace alf {

namespace {

__extension__ typedef unsigned __int128 u128;

// Rules inside a changed prefix compiled at most (beyond, the whole set is
// published: the change spans much of the table anyway).
constexpr std::size_t inner_limit = 1 << 16;
// Entries a rewrite may span, around the changed prefix's own.
constexpr std::size_t rewrite_reach = 1 << 14;

// One slot of a family's table in memory: IPv4 starts one 32-bit word, IPv6
// two 64-bit halves; the index reads the high word.
template <typename Address>
class Slot {
public:
    static constexpr bool ipv6 = sizeof(Address) == 16;
    static constexpr unsigned width = ipv6 ? 64 : 32;  // bits of the index's key

    struct Entry {
        Address start;
        std::uint8_t verdict;
        bool operator==(const Entry &) const = default;
    };

    Slot(MappedArray &memory, std::size_t offset, const RuleTableLayout &layout)
        : memory_(memory), base_(memory.bytes() + offset), offset_(offset), layout_(layout) {
        used_ = std::min<std::size_t>(*reach<std::uint32_t>(sizeof(RulesWindow) + 4 * buckets(), 1), capacity() - 1) + 1;
    }

    std::size_t capacity() const { return layout_.capacity(); }
    std::size_t buckets() const { return layout_.buckets(); }
    // Entries written: up to the one the index gives for addresses past the
    // window (the last range). Past them the table holds copies of that
    // range in meaning only: a set written whole leaves that memory as it
    // was, and nothing reads it (rule_tables.cpp).
    std::size_t used() const { return used_; }
    Address start(std::size_t i) const {
        i = std::min(i, used_ - 1);
        if constexpr (ipv6) {
            const auto *w = reach<std::uint64_t>(layout_.starts_offset + 16 * i, 2);
            return (u128(w[0]) << 64) | w[1];
        } else {
            return *reach<std::uint32_t>(layout_.starts_offset + 4 * i, 1);
        }
    }
    Entry entry(std::size_t i) const {
        i = std::min(i, used_ - 1);
        return {start(i), *reach<std::uint8_t>(layout_.verdicts_offset + i, 1)};
    }
    // Writes entry i; past the entries written, the copies before it first.
    void put(std::size_t i, const Entry &e) {
        if (i > used_) {
            Entry last = entry(used_ - 1);
            while (used_ < i) write(used_++, last);
        }
        used_ = std::max(used_, i + 1);
        write(i, e);
    }
    RulesWindow window() const {
        RulesWindow w;
        std::memcpy(&w, reach<std::uint8_t>(0, sizeof w), sizeof w);
        return w;
    }
    // The index, its entries [first, last) mapped, to be written.
    std::uint32_t *index(std::size_t first, std::size_t last) {
        index_written_.push_back({first, last});
        return reach<std::uint32_t>(sizeof(RulesWindow) + 4 * first, last - first) - first;
    }
    // What this slot's writes reached: entries and index entries, as
    // [first, last) ranges (an entry range grows as consecutive writes do).
    const std::vector<std::pair<std::size_t, std::size_t>> &entries_written() const { return entries_written_; }
    const std::vector<std::pair<std::size_t, std::size_t>> &index_written() const { return index_written_; }

    // The first entry starting after a (capacity() when none). The index
    // gives an entry at or before it; a galloping search goes on from there,
    // so that it reads a page or two, not a path through the whole table.
    // `from`, an entry known to start at or before a, stands in for the
    // index (while it is being rewritten).
    std::size_t first_after(Address a, std::optional<std::size_t> from = std::nullopt) const {
        std::size_t lo = from ? *from : index_entry(a), step = 1, hi;
        for (;; step *= 2) {  // start(lo) <= a: widen until an entry starts after a
            hi = lo + step;
            if (hi >= capacity()) {
                hi = capacity();
                break;
            }
            if (a < start(hi)) break;
            lo = hi;
        }
        while (hi - lo > 1) {  // start(lo) <= a < start(hi)
            std::size_t mid = lo + (hi - lo) / 2;
            (a < start(mid) ? hi : lo) = mid;
        }
        return hi;
    }
    // The first entry starting at or after a.
    std::size_t first_at_or_after(Address a) const { return a == 0 ? 0 : first_after(a - 1); }
    std::uint8_t verdict_at(Address a) const { return entry(first_after(a) - 1).verdict; }

    static std::uint64_t key(Address a) { return static_cast<std::uint64_t>(ipv6 ? a >> 64 : a); }
    bool in_window(Address a) const {
        RulesWindow w = window();
        return w.bits == 0 || key(a) >> (width - w.bits) == w.prefix;
    }
    // The first address of index bucket j.
    Address bucket_first(std::size_t j) const {
        RulesWindow w = window();
        unsigned shift = width - w.bits - layout_.index_bits;
        std::uint64_t k = (w.bits ? w.prefix << (width - w.bits) : 0) | (std::uint64_t(j) << shift);
        return ipv6 ? Address(u128(k) << 64) : Address(k);
    }
    // The first bucket whose first address is at or after a.
    std::size_t bucket_at_or_after(Address a) const {
        RulesWindow w = window();
        std::uint64_t k = key(a);
        if (w.bits != 0) {
            std::uint64_t top = k >> (width - w.bits);
            if (top < w.prefix) return 0;
            if (top > w.prefix) return layout_.buckets();
        }
        std::size_t j = (k >> (width - w.bits - layout_.index_bits)) & (layout_.buckets() - 1);
        return bucket_first(j) < a ? j + 1 : j;
    }
    // An entry starting at or before a, from the index.
    std::size_t index_entry(Address a) const {
        RulesWindow w = window();
        std::uint64_t k = key(a);
        if (w.bits != 0 && k >> (width - w.bits) != w.prefix)
            return k >> (width - w.bits) < w.prefix ? 0 : *reach<std::uint32_t>(sizeof w + 4 * buckets(), 1);
        std::size_t j = (k >> (width - w.bits - layout_.index_bits)) & (layout_.buckets() - 1);
        return *reach<std::uint32_t>(sizeof w + 4 * j, 1);
    }

private:
    void write(std::size_t i, const Entry &e) {
        if (entries_written_.empty() || entries_written_.back().second != i) entries_written_.push_back({i, i + 1});
        else ++entries_written_.back().second;
        if constexpr (ipv6) {
            auto *w = reach<std::uint64_t>(layout_.starts_offset + 16 * i, 2);
            w[0] = static_cast<std::uint64_t>(e.start >> 64);
            w[1] = static_cast<std::uint64_t>(e.start);
        } else {
            *reach<std::uint32_t>(layout_.starts_offset + 4 * i, 1) = e.start;
        }
        *reach<std::uint8_t>(layout_.verdicts_offset + i, 1) = e.verdict;
    }

    template <typename T>
    T *reach(std::size_t offset, std::size_t count) const {
        memory_.ensure(offset_ + offset, count * sizeof(T));
        return reinterpret_cast<T *>(base_ + offset);
    }

    MappedArray &memory_;
    std::uint8_t *base_;
    std::size_t offset_;
    RuleTableLayout layout_;
    std::size_t used_ = 1;
    std::vector<std::pair<std::size_t, std::size_t>> entries_written_, index_written_;
};

// A prefix's new ranges: the boundaries from `first` to `after` (the address
// after its last, absent at the end of the space), each where the verdict
// changes.
template <typename Address>
struct SpanChange {
    Address first;
    bool has_after;
    Address after;
    std::vector<typename Slot<Address>::Entry> boundaries;
};

// Writes the change into the slot: the entries starting from `first` to
// `after` make way for the new boundaries, the stretch widened by whole
// runs of copies until they fit, and the index buckets whose first address
// lies in the rewritten addresses found again. False, the slot untouched,
// when no room lies within reach. `stretch`, when given, receives the
// entries rewritten, [first, end).
template <typename Address>
bool rewrite(Slot<Address> &slot, const SpanChange<Address> &change,
             std::pair<std::size_t, std::size_t> *stretch = nullptr) {
    using Entry = typename Slot<Address>::Entry;
    const std::size_t capacity = slot.capacity();
    std::size_t x = slot.first_at_or_after(change.first);
    std::size_t y = change.has_after ? slot.first_after(change.after) : capacity;
    std::size_t left = x, right = y, distinct = change.boundaries.size();
    std::vector<Entry> before, after;  // the runs the stretch widens over, one entry each
    bool toward_right = true;
    while (right - left < distinct || distinct == 0) {
        if (right - left > rewrite_reach) return false;
        bool can_right = right < capacity, can_left = left > 0;
        if (!can_right && !can_left) return false;
        if (can_right && (toward_right || !can_left)) {
            Entry e = slot.entry(right);
            while (right < capacity && slot.entry(right) == e) ++right;
            after.push_back(e);
        } else {
            Entry e = slot.entry(left - 1);
            while (left > 0 && slot.entry(left - 1) == e) --left;
            before.insert(before.begin(), e);
        }
        ++distinct;
        toward_right = !toward_right;
    }
    std::vector<Entry> laid = before;
    laid.insert(laid.end(), change.boundaries.begin(), change.boundaries.end());
    laid.insert(laid.end(), after.begin(), after.end());
    if (stretch) *stretch = {left, right};
    // Each entry once, the spare places as copies spread among them.
    std::size_t total = right - left, spare = total - laid.size(), at = left;
    for (std::size_t k = 0; k < laid.size(); ++k) {
        std::size_t copies = 1 + (k + 1) * spare / laid.size() - k * spare / laid.size();
        while (copies--) slot.put(at++, laid[k]);
    }
    // The index: each bucket points at the first entry of the run holding its
    // first address. Only buckets whose first address lies in the rewritten
    // addresses can change: walk them and the entries together.
    Address from = left < x ? slot.start(left) : change.first;
    std::size_t j = slot.bucket_at_or_after(from);
    std::size_t j_end = right < capacity ? slot.bucket_at_or_after(slot.start(right)) : slot.buckets();
    if (j < j_end) {
        std::uint32_t *index = slot.index(j, j_end);
        // The rewritten entries start at or before bucket j's first address,
        // and so does the one before them: the search starts there.
        std::size_t p = slot.first_after(slot.bucket_first(j), left > 0 ? left - 1 : 0) - 1;
        std::size_t run = slot.first_at_or_after(slot.start(p));
        for (; j < j_end; ++j) {
            Address first = slot.bucket_first(j);
            while (p + 1 < capacity && !(first < slot.start(p + 1)))
                if (slot.start(++p) != slot.start(run)) run = p;
            index[j] = static_cast<std::uint32_t>(run);
        }
    }
    // Addresses past the window: the last range, at the first of its copies.
    if (right == capacity) {
        std::size_t last_run = slot.first_at_or_after(slot.start(capacity - 1));
        slot.index(slot.buckets(), slot.buckets() + 1)[slot.buckets()] = static_cast<std::uint32_t>(last_run);
    }
    return true;
}


// The records of changed prefixes as they will be, over the list as it is.
class ChangedList {
public:
    explicit ChangedList(RuleListView &list) : list_(list) {}

    // `before`: as RuleListView::find's.
    std::vector<RuleRecord> records_of(const RuleRecord &prefix, std::size_t *before = nullptr) const {
        if (auto it = changed_.find(prefix); it != changed_.end()) return it->second;
        std::vector<RuleRecord> found;
        for (std::size_t i : list_.find(prefix, before)) found.push_back(list_.read(i));
        return found;
    }
    void set(const RuleRecord &prefix, std::vector<RuleRecord> records) { changed_[prefix] = std::move(records); }
    const auto &changed() const { return changed_; }

    // The rules of the most specific shorter prefix of its family that holds `prefix`.
    std::vector<RuleRecord> enclosing(const RuleRecord &prefix) const {
        unsigned shortest = record_is_ipv4(prefix) ? 96 : 0;
        // Each shorter prefix sorts before the longer: each search goes back
        // from where the last one ended, through the few records between,
        // the first from where the prefix belongs (its path read already).
        std::size_t before = std::numeric_limits<std::size_t>::max();
        list_.find(prefix, &before);
        for (unsigned bits = prefix.prefix_len; bits-- > shortest;)
            if (auto found = records_of(prefix_truncated(prefix, bits), &before); !found.empty()) return found;
        return {};
    }
    // The rules inside `prefix` and more specific, at most inner_limit.
    std::optional<std::vector<RuleRecord>> inside(const RuleRecord &prefix) const {
        auto listed = list_.inside(prefix, inner_limit);
        if (!listed) return std::nullopt;
        std::vector<RuleRecord> found;
        for (const auto &r : *listed)
            if (!changed_.count(r)) found.push_back(r);
        RuleRecord last = prefix_last(prefix);
        last.prefix_len = 255;
        for (const auto &[p, records] : changed_)
            if (record_before(prefix, p) && !record_before(last, p) && p.prefix_len > prefix.prefix_len)
                found.insert(found.end(), records.begin(), records.end());
        return found;
    }

private:
    RuleListView &list_;
    std::map<RuleRecord, std::vector<RuleRecord>, decltype(&record_before)> changed_{&record_before};
};

Error no_rule_to_remove(const Rule &rule) {
    return Error("no rule for " + format_rule_prefix(rule) + " to remove; nothing was changed "
                 "(alfctl rules NAME show lists the rules)");
}

template <typename Address>
Address family_address(const RuleRecord &r) {
    if constexpr (sizeof(Address) == 16) return (u128(r.hi) << 64) | r.lo;
    else return static_cast<Address>(r.lo);
}

// The new ranges of a changed prefix's addresses, in `slot` as it is.
template <typename Address>
std::optional<SpanChange<Address>> span_change(const Slot<Address> &slot, const ChangedList &list,
                                               const RuleRecord &prefix, bool rule_edges) {
    constexpr bool ipv6 = sizeof(Address) == 16;
    auto inner = list.inside(prefix);
    if (!inner) return std::nullopt;
    RuleSet mini;
    for (const auto &records : {list.enclosing(prefix), list.records_of(prefix), *inner})
        for (const auto &r : records) mini.rules.push_back(record_rule(r));
    CompiledRules compiled = compile_rules(mini, rule_edges);
    std::size_t n = ipv6 ? compiled.ipv6_ranges : compiled.ipv4_ranges;
    std::vector<Address> starts(n);
    std::vector<std::uint8_t> verdicts(n);
    if constexpr (ipv6) {
        std::vector<std::uint64_t> words(2 * n);
        write_ranges6(mini, compiled, words, verdicts);
        for (std::size_t i = 0; i < n; ++i) starts[i] = (u128(words[2 * i]) << 64) | words[2 * i + 1];
    } else {
        write_ranges4(mini, compiled, starts, verdicts);
    }
    SpanChange<Address> change;
    change.first = family_address<Address>(prefix);
    Address last = family_address<Address>(prefix_last(prefix));
    change.has_after = last != ~Address(0);
    change.after = last + 1;
    constexpr std::uint8_t nothing_before = 0xff;
    std::uint8_t previous = change.first == 0 ? nothing_before : slot.verdict_at(change.first - 1);
    // With rule edges (hits counted), the ranges at the stretch's ends are
    // kept apart from their neighbours, which another rule may decide.
    auto boundary = [&](Address at, std::uint8_t verdict) {
        if (verdict == previous && !rule_edges) return;
        change.boundaries.push_back({at, verdict});
        previous = verdict;
    };
    std::size_t i = static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), change.first) - starts.begin());
    boundary(change.first, verdicts[i - 1]);
    for (; i < n && !(last < starts[i]); ++i) boundary(starts[i], verdicts[i]);
    if (change.has_after) boundary(change.after, slot.verdict_at(change.after));
    for (const auto &b : change.boundaries)
        if (b.start != 0 && !slot.in_window(b.start)) return std::nullopt;  // the index cannot cut it
    return change;
}

template <typename Address>
struct FamilyEdits {
    MappedArray &table;
    RuleTableLayout layout;
    std::vector<std::pair<std::size_t, std::size_t>> stretches;  // rewritten, for the hit counters
    // What the edits wrote into the spare slot: the bytes the other slot
    // takes to be level with it again.
    std::vector<std::pair<std::size_t, std::size_t>> entries_written, index_written;

    Slot<Address> slot(std::uint32_t n) { return Slot<Address>(table, n * layout.slot_bytes, layout); }
    // The spare slot made a copy of the active one: its window and index,
    // and the entries written.
    void level(std::uint32_t spare, std::uint32_t active) {
        std::size_t used = slot(active).used(), start_bytes = Slot<Address>::ipv6 ? 16 : 4;
        auto copy = [&](std::size_t offset, std::size_t bytes) {
            std::memcpy(table.at<std::uint8_t>(spare * layout.slot_bytes + offset, bytes),
                        table.at<std::uint8_t>(active * layout.slot_bytes + offset, bytes), bytes);
        };
        copy(0, layout.starts_offset);
        copy(layout.starts_offset, used * start_bytes);
        copy(layout.verdicts_offset, used);
    }
    void note_writes(const Slot<Address> &s) {
        entries_written.insert(entries_written.end(), s.entries_written().begin(), s.entries_written().end());
        index_written.insert(index_written.end(), s.index_written().begin(), s.index_written().end());
    }
    // Slot `to` made level with `from` again, which the edits changed: the
    // entries and index entries they wrote copied (no search; the other
    // family's table is not even read).
    void replay(std::uint32_t to, std::uint32_t from) {
        std::size_t start_bytes = Slot<Address>::ipv6 ? 16 : 4;
        auto copy = [&](std::size_t offset, std::size_t bytes) {
            if (bytes == 0) return;
            std::memcpy(table.at<std::uint8_t>(to * layout.slot_bytes + offset, bytes),
                        table.at<std::uint8_t>(from * layout.slot_bytes + offset, bytes), bytes);
        };
        for (const auto &[first, last] : entries_written) {
            copy(layout.starts_offset + first * start_bytes, (last - first) * start_bytes);
            copy(layout.verdicts_offset + first, last - first);
        }
        for (const auto &[first, last] : index_written)
            copy(sizeof(RulesWindow) + 4 * first, 4 * (last - first));
    }
};

}  // namespace

RuleSet rules_with_changes(RuleSet running, std::span<const Rule> given, bool remove) {
    auto &rules = running.rules;
    auto same_prefix = [](const Rule &a, const Rule &b) {
        return a.hi == b.hi && a.lo == b.lo && a.prefix_len == b.prefix_len;
    };
    for (const auto &rule : given) {
        auto matches = [&](const Rule &r) { return same_prefix(r, rule); };
        if (remove && std::none_of(rules.begin(), rules.end(), matches)) throw no_rule_to_remove(rule);
        rules.erase(std::remove_if(rules.begin(), rules.end(), matches), rules.end());
        if (!remove) rules.push_back(rule);
    }
    for (auto &rule : rules) rule.source = 0;
    running.sources = {"command line"};
    return running;
}

RuleEditOutcome edit_rules(const RuleMaps &maps, std::span<const Rule> given, bool remove) {
    RuleCapacity capacity = rule_capacity(maps);
    if (capacity.slots < 2) throw Error("internal error: rules changed in a table of one slot");
    const bool rule_edges = counts_rule_hits(maps.hits);  // the tables keep rule edges (rule_hits.hpp)
    // The whole set compiled anew with the change and published.
    auto whole = [&](RuleSet running) {
        RuleSet set = rules_with_changes(std::move(running), given, remove);
        CompiledRules compiled = compile_rules(set, rule_edges);
        return RuleEditOutcome{publish_rules(maps, set, compiled), set.rules.size(), false};
    };
    // Without a list in place order (an older alfwrapper wrote it), or none
    // at all, or one a change left unfinished: read_rule_list() reads it, or
    // says what is wrong.
    if (maps.list < 0) return whole(read_rule_list(maps));
    MappedArray state_map(maps.state, "alf_rules_state"), list_map(maps.list, rule_list_map, true);
    auto *state = reinterpret_cast<RulesState *>(state_map.bytes());
    RuleListView list(list_map, array_geometry(maps.list, rule_list_map).max_entries);
    std::uint32_t generation = std::atomic_ref<std::uint32_t>(state->generation).load(std::memory_order_acquire);
    if (list.header().format != rule_list_format || generation == 0 || list.header().generation != generation)
        return whole(read_rule_list(maps));
    // From here on, a change that reaches too far: the list as it is now
    // (a set's records already written are written again the same way; a
    // removal has written nothing when it gets here).
    auto whole_from_list = [&] {
        RuleSet running;
        running.rules = list.rules();
        return whole(std::move(running));
    };

    // What changes, checked before anything is written.
    ChangedList changed(list);
    std::size_t rules = list.header().count;
    for (const Rule &rule : given) {
        RuleRecord prefix = rule_record(rule);
        std::size_t before = changed.records_of(prefix).size();
        if (remove && before == 0) throw no_rule_to_remove(rule);
        changed.set(prefix, remove ? std::vector<RuleRecord>{} : std::vector<RuleRecord>{prefix});
        rules = rules - before + (remove ? 0 : 1);
    }
    if (rules > capacity.rules)
        throw Error("rules: " + std::to_string(rules) + " rules, and the running filter's rule list holds " +
                    std::to_string(capacity.rules) + " (sized when the service started); nothing was changed. "
                    "Restart the service with these rules (under a socket unit, restart the socket too)");
    // No packet may read the spare while it is written. When the last change
    // left both slots level, it waited for the packets in flight after its
    // switch; otherwise (a set published whole) the wait is here.
    const bool level = list.header().synced == generation;
    if (!level) wait_for_packets_in_flight();
    std::uint32_t active = state->active & 1, spare = active ^ 1;
    MappedArray table4(maps.ipv4, "alf_rules4", true), table6(maps.ipv6, "alf_rules6", true);
    FamilyEdits<std::uint32_t> ipv4{table4, capacity.ipv4, {}};
    FamilyEdits<u128> ipv6{table6, capacity.ipv6, {}};
    if (!level) {
        // The spare holds an older set: level it with the active one first.
        ipv4.level(spare, active);
        ipv6.level(spare, active);
    }
    auto edit = [&](auto &family, const RuleRecord &prefix) {
        auto s = family.slot(spare);
        auto change = span_change(s, changed, prefix, rule_edges);
        std::pair<std::size_t, std::size_t> stretch;
        if (!change || !rewrite(s, *change, &stretch)) return false;
        family.note_writes(s);
        family.stretches.push_back(stretch);
        return true;
    };
    for (const auto &[prefix, records] : changed.changed())
        if (!(record_is_ipv4(prefix) ? edit(ipv4, prefix) : edit(ipv6, prefix))) return whole_from_list();

    // The list, marked as being written (a reader or a later change that
    // finds generation 0 knows it was interrupted).
    RuleListHeader &header = list.header();
    header.generation = 0;
    header.synced = 0;
    for (const auto &[prefix, records] : changed.changed()) {
        std::vector<std::size_t> old = list.find(prefix);
        for (std::size_t position : old) list.remove(position);
        for (const auto &r : records)
            if (!list.insert(r)) return whole_from_list();
    }
    Verdict fallback = header.allows > 0 ? Verdict::deny : Verdict::allow;
    std::uint32_t now = switch_rules_slot(*state, spare, fallback);
    header.generation = now;

    // Both slots level again, once no packet reads the one just left.
    wait_for_packets_in_flight();
    // The rewritten entries now stand for other ranges: their counts restart.
    for (const auto &[first, end] : ipv4.stretches) clear_rule_hits(maps, capacity, false, first, end);
    for (const auto &[first, end] : ipv6.stretches) clear_rule_hits(maps, capacity, true, first, end);
    ipv4.replay(active, spare);
    ipv6.replay(active, spare);
    std::atomic_ref<std::uint32_t>(state->default_verdict[active])
        .store(static_cast<std::uint32_t>(fallback), std::memory_order_relaxed);
    header.synced = now;
    return RuleEditOutcome{now, header.count, true};
}

}  // namespace alf
