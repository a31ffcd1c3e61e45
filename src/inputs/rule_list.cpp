#include "inputs/rule_list.hpp"

#include "common/error.hpp"
#include "inputs/rule_table_memory.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace alf {

namespace {

// Records shifted at most, either way, to reach a gap (a few pages).
constexpr std::size_t shift_reach = 4096;
// A gap after every this many records of a list written whole.
constexpr std::size_t gap_every = 32;

auto order_key(const RuleRecord &r) { return std::tuple(!record_is_ipv4(r), r.hi, r.lo, r.prefix_len); }

bool same_prefix(const RuleRecord &a, const RuleRecord &b) {
    return a.hi == b.hi && a.lo == b.lo && a.prefix_len == b.prefix_len;
}

}  // namespace

bool record_is_ipv4(const RuleRecord &r) { return r.hi == 0 && (r.lo >> 32) == 0xffff && r.prefix_len >= 96; }

RuleRecord prefix_truncated(const RuleRecord &r, unsigned bits) {
    RuleRecord out = r;
    auto mask = [](unsigned n) { return n >= 64 ? ~0ull : n == 0 ? 0 : ~0ull << (64 - n); };
    out.hi = r.hi & mask(std::min(bits, 64u));
    out.lo = r.lo & mask(bits > 64 ? bits - 64 : 0);
    out.prefix_len = static_cast<std::uint8_t>(bits);
    return out;
}

RuleRecord prefix_last(const RuleRecord &r) {
    RuleRecord out = r;
    unsigned bits = r.prefix_len;
    auto host = [](unsigned n) { return n >= 64 ? 0ull : ~0ull >> n; };
    out.hi = r.hi | host(std::min(bits, 64u));
    out.lo = r.lo | (bits > 64 ? host(bits - 64) : ~0ull);
    return out;
}

RuleRecord rule_record(const Rule &rule) {
    return RuleRecord{rule.hi, rule.lo, rule.prefix_len, static_cast<std::uint8_t>(rule.verdict), {}};
}

Rule record_rule(const RuleRecord &record) {
    Rule rule;
    rule.hi = record.hi;
    rule.lo = record.lo;
    rule.prefix_len = record.prefix_len;
    rule.verdict = static_cast<Verdict>(record.verdict);
    return rule;
}

bool record_before(const RuleRecord &a, const RuleRecord &b) { return order_key(a) < order_key(b); }

RuleListView::RuleListView(MappedArray &memory, std::size_t elements)
    : memory_(memory),
      header_(memory.at<RuleListHeader>(0)),
      records_(reinterpret_cast<RuleRecord *>(memory.bytes() + sizeof(RuleListHeader))),
      room_(elements ? elements - 1 : 0) {}

void RuleListView::reach(std::size_t first, std::size_t last) const {
    if (last > first) memory_.ensure(sizeof(RuleListHeader) + first * sizeof(RuleRecord), (last - first) * sizeof(RuleRecord));
}

RuleRecord RuleListView::read(std::size_t i) const {
    std::size_t offset = sizeof(RuleListHeader) + i * sizeof(RuleRecord);
    if (memory_.mapped(offset, sizeof(RuleRecord))) return records_[i];
    if (auto it = probed_.find(i); it != probed_.end()) return it->second;
    RuleRecord r;
    std::uint32_t key = static_cast<std::uint32_t>(i + 1);  // element 0 is the header
    if (bpf_map_lookup_elem(memory_.fd(), &key, &r) != 0) return record(i);
    probed_.emplace(i, r);
    return r;
}

RuleRecord &RuleListView::record(std::size_t i) const {
    reach(i, i + 1);
    return records_[i];
}

void RuleListView::write(std::span<const Rule> rules) {
    probed_.clear();
    fetched_.clear();
    std::size_t gaps = std::min(rules.size() / gap_every, room_ - std::min(room_, rules.size()));
    reach(0, rules.size() + gaps);
    std::size_t at = 0;
    std::uint32_t allows = 0;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        records_[at++] = rule_record(rules[i]);
        allows += rules[i].verdict == Verdict::allow;
        if (gaps > 0 && (i + 1) % gap_every == 0) {
            records_[at] = records_[at - 1];
            records_[at++].verdict = 0;
            --gaps;
        }
    }
    *header_ = RuleListHeader{static_cast<std::uint32_t>(rules.size()), 0, 0, rule_list_format,
                              static_cast<std::uint32_t>(at), allows};
}

std::vector<Rule> RuleListView::rules() const {
    std::vector<Rule> rules;
    rules.reserve(header_->count);
    if (header_->format == 0) {
        reach(0, header_->count);
        for (std::size_t i = 0; i < header_->count; ++i) rules.push_back(record_rule(records_[i]));
        return rules;
    }
    reach(0, header_->records);
    for (std::size_t i = 0; i < header_->records; ++i)
        if (records_[i].verdict != 0) rules.push_back(record_rule(records_[i]));
    return rules;
}

void RuleListView::fetch(std::size_t first, std::size_t last) const {
    last = std::min<std::size_t>(last, header_->records);
    if (first >= last || memory_.mapped(sizeof(RuleListHeader) + first * sizeof(RuleRecord), (last - first) * sizeof(RuleRecord)))
        return;
    for (const auto &[from, to] : fetched_)
        if (from <= first && last <= to) return;
    std::vector<std::uint32_t> keys(last - first);
    std::vector<RuleRecord> values(last - first);
    std::uint32_t after = static_cast<std::uint32_t>(first);  // the element before record `first` (0: the header)
    std::uint32_t count = static_cast<std::uint32_t>(last - first);
    LIBBPF_OPTS(bpf_map_batch_opts, options);
    int failed = bpf_map_lookup_batch(memory_.fd(), &after, &after, keys.data(), values.data(), &count, &options);
    if (failed != 0 && errno != ENOENT) return;  // read() reads them one at a time
    for (std::uint32_t k = 0; k < count; ++k)
        if (keys[k] >= 1) probed_.emplace(keys[k] - 1, values[k]);
    fetched_.emplace_back(first, first + count);
}

RuleRecord RuleListView::scanned(std::size_t from, std::size_t i) const {
    if (i >= from + fetch_block) return record(i);  // a long run: mapped, a piece at a time
    if (i == from) fetch(from, from + fetch_block);
    return read(i);
}

std::size_t RuleListView::lower_bound(const RuleRecord &key) const {
    std::size_t first = 0, n = header_->records;
    while (n > 0) {
        if (n <= fetch_block) fetch(first, first + n);
        std::size_t half = n / 2;
        if (record_before(read(first + half), key)) {
            first += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return first;
}

// The first position in [0, end) whose record does not sort before key,
// galloping back from end (end when none).
std::size_t RuleListView::lower_bound_before(const RuleRecord &key, std::size_t end) const {
    if (end == 0) return 0;
    std::size_t hi = end, step = 1, lo;  // read(hi) does not sort before key (or hi is the end)
    for (;;) {
        lo = hi > step ? hi - step : 0;
        if (lo == 0 || record_before(read(lo), key)) break;
        hi = lo;
        step *= 2;
    }
    if (lo == 0 && !record_before(read(0), key)) return 0;
    if (hi - lo <= fetch_block) fetch(lo, hi + 1);
    while (hi - lo > 1) {  // read(lo) sorts before key, read(hi) does not
        std::size_t mid = lo + (hi - lo) / 2;
        (record_before(read(mid), key) ? lo : hi) = mid;
    }
    return hi;
}

std::vector<std::size_t> RuleListView::find(const RuleRecord &prefix, std::size_t *before) const {
    std::size_t n = header_->records;
    std::size_t at = before && *before <= n ? lower_bound_before(prefix, *before) : lower_bound(prefix);
    if (before) *before = at;
    std::vector<std::size_t> found;
    for (std::size_t i = at; i < n; ++i) {
        RuleRecord r = scanned(at, i);
        if (!same_prefix(r, prefix)) break;
        if (r.verdict != 0) found.push_back(i);
    }
    return found;
}

std::optional<std::vector<RuleRecord>> RuleListView::inside(const RuleRecord &prefix, std::size_t limit) const {
    RuleRecord first = prefix, last = prefix_last(prefix);
    first.prefix_len = static_cast<std::uint8_t>(prefix.prefix_len + 1);
    last.prefix_len = 255;
    std::vector<RuleRecord> found;
    std::size_t from = lower_bound(first);
    for (std::size_t i = from; i < header_->records; ++i) {
        RuleRecord r = scanned(from, i);
        if (record_before(last, r)) break;
        if (r.verdict == 0) continue;
        if (found.size() == limit) return std::nullopt;
        found.push_back(r);
    }
    return found;
}

bool RuleListView::insert(const RuleRecord &rule) {
    std::size_t n = header_->records, at = lower_bound(rule);
    // The nearest gap after `at` (the free room past the end is one), and before it.
    std::size_t right = at, left = at;
    while (right < n && right - at < shift_reach && record(right).verdict != 0) ++right;
    bool right_ok = right < n ? records_[right].verdict == 0 : right < room_;
    bool left_ok = false;
    while (left > 0 && at - left < shift_reach) {
        if (record(--left).verdict == 0) {
            left_ok = true;
            break;
        }
    }
    if (!right_ok && !left_ok) return false;
    if (right_ok && (!left_ok || right - at <= at - left)) {
        reach(at, right + 1);
        std::memmove(records_ + at + 1, records_ + at, (right - at) * sizeof(RuleRecord));
        records_[at] = rule;
        if (right == n) ++header_->records;
    } else {
        std::memmove(records_ + left, records_ + left + 1, (at - 1 - left) * sizeof(RuleRecord));
        records_[at - 1] = rule;
    }
    ++header_->count;
    header_->allows += rule.verdict == static_cast<std::uint8_t>(Verdict::allow);
    return true;
}

void RuleListView::remove(std::size_t position) {
    RuleRecord &r = record(position);
    if (r.verdict == 0) throw Error("internal error: a rule removed twice from the list");
    header_->allows -= r.verdict == static_cast<std::uint8_t>(Verdict::allow);
    --header_->count;
    r.verdict = 0;
}

}  // namespace alf
