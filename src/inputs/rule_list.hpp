// The list of rules in force, kept beside the range tables so that rules can
// be shown, added and removed later (the tables hold ranges, from which the
// rules cannot be told apart): an array map named alf_rule_list that
// alfwrapper creates and binds to the program, so it lives as long as the
// program. Element 0 is the header, then one element a record.
//
// Records are kept in prefix order (IPv4 rules first), with gaps (removed
// rules, verdict 0) spread among them, so that a rule is found by binary
// search and added or removed by touching a few pages: an insertion shifts
// the records up to the nearest gap. A whole set written anew (at launch,
// by replace) leaves a gap after every 32 records.
#pragma once

#include "inputs/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace alf {

struct RuleListHeader {
    std::uint32_t count;       // rules in force
    std::uint32_t synced;      // format 1: the generation both table slots hold (0: the spare holds an older set)
    std::uint32_t generation;  // the state's generation the list describes (0 while a change is written)
    std::uint32_t format;      // 0: `count` records follow in any order, no gaps; 1: as above
    std::uint32_t records;     // format 1: elements in use after the header, gaps included
    std::uint32_t allows;      // format 1: allow rules among those in force
};
struct RuleRecord {
    std::uint64_t hi, lo;  // as Rule: host order, IPv4 as IPv4-mapped
    std::uint8_t prefix_len, verdict, reserved[6];  // verdict 0: a gap
};
static_assert(sizeof(RuleListHeader) == 24 && sizeof(RuleRecord) == 24, "one element of alf_rule_list");
inline constexpr const char *rule_list_map = "alf_rule_list";
inline constexpr std::uint32_t rule_list_format = 1;

RuleRecord rule_record(const Rule &rule);
Rule record_rule(const RuleRecord &record);

// The order of the list: IPv4 rules first, then by address and length.
bool record_before(const RuleRecord &a, const RuleRecord &b);
bool record_is_ipv4(const RuleRecord &r);
// The prefix of the leading `bits` bits of r's address.
RuleRecord prefix_truncated(const RuleRecord &r, unsigned bits);
// The last address of r's prefix.
RuleRecord prefix_last(const RuleRecord &r);

class MappedArray;

// A mapped list: the header and records, read and changed in place (of a
// lazy mapping, only the pages a search or change reaches are mapped).
class RuleListView {
public:
    RuleListView(MappedArray &memory, std::size_t elements);

    RuleListHeader &header() const { return *header_; }
    std::size_t room() const { return room_; }
    RuleRecord &record(std::size_t i) const;

    // Writes `rules` (sorted by prefix, as compile_rules leaves them) as the
    // whole list, in format 1, a gap after every 32 where there is room.
    // The header's generation is left 0: the caller stamps it.
    void write(std::span<const Rule> rules);
    // Every rule in force (gaps skipped), in list order.
    std::vector<Rule> rules() const;

    // Format 1: the positions of the rules of exactly this prefix (two when
    // an allow and a deny tie). `before`, when given, is a position the
    // prefix sorts at or before: the search goes back from there (a change
    // looks for the shorter prefixes holding its own, each before the last;
    // past the end of the list, the whole list is searched), and it is set
    // to where the prefix belongs.
    std::vector<std::size_t> find(const RuleRecord &prefix, std::size_t *before = nullptr) const;
    // Record i as it is, read without mapping its page when that is not
    // mapped yet (a search reads one record of many pages).
    RuleRecord read(std::size_t i) const;
    // Format 1: the rules inside `prefix` and more specific than it, at most
    // `limit` (nullopt beyond: the caller takes the slow path).
    std::optional<std::vector<RuleRecord>> inside(const RuleRecord &prefix, std::size_t limit) const;
    // Format 1: inserts a rule in order, shifting records up to the nearest
    // gap within reach; false when there is none (nothing changed).
    bool insert(const RuleRecord &rule);
    // Format 1: makes the record at `position` a gap.
    void remove(std::size_t position);

private:
    std::size_t lower_bound(const RuleRecord &key) const;
    std::size_t lower_bound_before(const RuleRecord &key, std::size_t end) const;
    // Maps records [first, last) of a lazy mapping.
    void reach(std::size_t first, std::size_t last) const;
    // Record i of a scan from `from`: the first records in one batch
    // lookup, the records of a long run by mapping their pages.
    RuleRecord scanned(std::size_t from, std::size_t i) const;
    // Reads records [first, last) in one call (a batch lookup), for read().
    void fetch(std::size_t first, std::size_t last) const;
    static constexpr std::size_t fetch_block = 64;  // a search's last steps, in one call

    // Records read by read() and fetch(): the searches of one change read
    // mostly the same records. A record changed in place is on a mapped
    // page, which read() reads first, so only write() forgets them.
    mutable std::unordered_map<std::size_t, RuleRecord> probed_;
    mutable std::vector<std::pair<std::size_t, std::size_t>> fetched_;

    MappedArray &memory_;
    RuleListHeader *header_;
    RuleRecord *records_;
    std::size_t room_;
};

}  // namespace alf
