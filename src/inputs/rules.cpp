#include "inputs/rules.hpp"

#include "common/error.hpp"
#include "common/net_address.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>

namespace alf {

namespace {

__extension__ typedef unsigned __int128 u128;

constexpr std::uint64_t ipv4_mapped_prefix = 0xffff00000000ull;
constexpr std::size_t max_examples = 3;  // per kind, in the verbose report

std::uint64_t load_be64(const std::uint8_t *bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = value << 8 | bytes[i];
    return value;
}

// Written as IPv4-mapped but shorter than /96 ("::ffff:10.0.0.0/95"): a rule
// for IPv6 peers that no IPv4 client ever matches (a dual-stack socket sees
// IPv4 clients as IPv4), almost surely not what was meant.
std::string mapped_prefix_warning(std::string_view text, const Rule &rule) {
    auto written = parse_ip(text.substr(0, text.find('/')));
    bool mapped = written && written->family == Family::ipv6 &&
                  std::all_of(written->bytes.begin(), written->bytes.begin() + 10, [](auto b) { return b == 0; }) &&
                  written->bytes[10] == 0xff && written->bytes[11] == 0xff;
    if (!mapped || rule.prefix_len >= 96) return {};
    return std::string(text) + " is written as IPv4-mapped but is shorter than /96: no IPv4 client ever matches it "
                               "(they are judged as IPv4; write the IPv4 network, e.g. 10.0.0.0/8)";
}

// The rule for text (no verdict yet); `host_bits` tells whether bits past
// the prefix were set (and cleared).
Rule parse_rule_prefix(std::string_view text, bool &host_bits) {
    Subnet subnet = parse_subnet(text);
    host_bits = subnet.host_bits_cleared;
    Rule rule;
    if (subnet.address.family == Family::ipv4) {
        rule.lo = ipv4_mapped_prefix | (load_be64(subnet.address.bytes.data()) >> 32);
        rule.prefix_len = static_cast<std::uint8_t>(96 + subnet.prefix_len);
    } else {
        rule.hi = load_be64(subnet.address.bytes.data());
        rule.lo = load_be64(subnet.address.bytes.data() + 8);
        rule.prefix_len = static_cast<std::uint8_t>(subnet.prefix_len);
    }
    return rule;
}


// The usual line, "allow 10.0.0.0/8" or "deny 2001:db8::/32" with blanks
// at most after it, host bits clear, read straight into `rule` (no verdict
// word, Subnet or IpAddress built). False sends every other line (comments,
// mistakes, host bits, "::ffff:..." shorter than /96, an unusual way of
// writing a length) to parse_rules_line, which has the words for them.
bool parse_plain_rule(std::string_view line, Rule &rule) {
    std::size_t i;
    if (line.starts_with("allow")) {
        rule.verdict = Verdict::allow;
        i = 5;
    } else if (line.starts_with("deny")) {
        rule.verdict = Verdict::deny;
        i = 4;
    } else {
        return false;
    }
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    if (i == line.size() || !blank(line[i])) return false;
    while (i < line.size() && blank(line[i])) ++i;
    std::size_t end = line.size();
    while (end > i && (blank(line[end - 1]) || line[end - 1] == '\r')) --end;
    // Blanks or '#' left inside fail as an address or a length would.
    std::string_view cidr = line.substr(i, end - i);
    std::size_t slash = cidr.find('/');
    std::string_view address = cidr.substr(0, slash);
    // Only an IPv6 address has a ':': one parser tries, not both.
    std::uint32_t v4;
    std::uint16_t groups[8];
    unsigned max = address.find(':') == std::string_view::npos ? 32 : 128;
    if (max == 32 ? !parse_ipv4_word(address, v4) : !parse_ipv6_groups(address, groups)) return false;
    unsigned len = max;
    if (slash != std::string_view::npos) {
        std::string_view digits = cidr.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return false;
        len = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return false;
            len = len * 10 + static_cast<unsigned>(c - '0');
        }
        if (len > max) return false;
    }
    if (max == 32) {
        std::uint32_t host = len == 32 ? 0 : ~std::uint32_t(0) >> len;
        if (v4 & host) return false;
        rule.hi = 0;
        rule.lo = ipv4_mapped_prefix | v4;
        rule.prefix_len = static_cast<std::uint8_t>(96 + len);
        return true;
    }
    u128 bits = 0;
    for (std::uint16_t group : groups) bits = bits << 16 | group;
    u128 host = len == 128 ? 0 : ~u128(0) >> len;
    if ((bits & host) || (bits >> 64 == 0 && len < 96)) return false;
    rule.hi = static_cast<std::uint64_t>(bits >> 64);
    rule.lo = static_cast<std::uint64_t>(bits);
    rule.prefix_len = static_cast<std::uint8_t>(len);
    return true;
}

// Where the lines of one file (or one part of it) go: its rules, the
// warnings about them, and the host-bit warning: the first example and how
// many more.
struct RulesSink {
    std::vector<Rule> &rules;
    std::vector<std::string> &warnings;
    std::uint8_t source = 0;  // index into RuleSet::sources
    std::size_t host_bits = 0;
    std::string first_host_bits;
};

void parse_rules_line(RulesSink &sink, std::string_view line, std::uint32_t line_number, const std::string &path) {
    Rule rule;
    rule.line = line_number;
    rule.source = sink.source;
    if (parse_plain_rule(line, rule)) {
        sink.rules.push_back(rule);
        return;
    }
    auto comment = line.find('#');
    if (comment != std::string_view::npos) line = line.substr(0, comment);
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) return;
    std::size_t word_end = i;
    while (word_end < line.size() && !is_space(line[word_end])) ++word_end;
    std::string_view word = line.substr(i, word_end - i);
    std::size_t cidr_begin = word_end;
    while (cidr_begin < line.size() && is_space(line[cidr_begin])) ++cidr_begin;
    std::size_t cidr_end = cidr_begin;
    while (cidr_end < line.size() && !is_space(line[cidr_end])) ++cidr_end;
    std::string_view cidr = line.substr(cidr_begin, cidr_end - cidr_begin);
    std::size_t rest = cidr_end;
    while (rest < line.size() && is_space(line[rest])) ++rest;

    auto where = [&] { return path + ":" + std::to_string(line_number); };
    std::string_view trimmed = line.substr(i);
    while (!trimmed.empty() && is_space(trimmed.back())) trimmed.remove_suffix(1);
    Verdict verdict;
    if (word == "allow") verdict = Verdict::allow;
    else if (word == "deny") verdict = Verdict::deny;
    else
        throw Error(where() + ": '" + std::string(trimmed) +
                    "' is not a rule; write 'allow CIDR' or 'deny CIDR' ('#' starts a comment)");
    if (cidr.empty()) throw Error(where() + ": '" + std::string(trimmed) + "' names no address; write '" +
                                  std::string(word) + " CIDR', e.g. '" + std::string(word) + " 10.0.0.0/8'");
    if (rest != line.size())
        throw Error(where() + ": '" + std::string(trimmed) + "': unexpected text after the address: '" +
                    std::string(line.substr(rest)) + "'");
    bool host = false;
    try {
        Rule prefix = parse_rule_prefix(cidr, host);
        rule.hi = prefix.hi;
        rule.lo = prefix.lo;
        rule.prefix_len = prefix.prefix_len;
    } catch (const Error &e) {
        throw e.with_context(where());  // built only on error: a large file has many lines
    }
    rule.verdict = verdict;
    if (host && sink.host_bits++ == 0)
        sink.first_host_bits =
            where() + ": " + std::string(trimmed) + " has host bits set; using " + format_rule_prefix(rule);
    if (rule.hi == 0 && rule.prefix_len < 96)
        if (std::string warning = mapped_prefix_warning(cidr, rule); !warning.empty())
            sink.warnings.push_back(where() + ": " + warning);
    sink.rules.push_back(rule);
}

// The sweep: prefixes sorted by (start, length) are either nested or
// disjoint, so a stack of the enclosing ones gives, at every boundary, the
// most specific rule covering what follows. Emits (start, verdict) for each
// maximal run of addresses with one verdict, from address 0 on.
template <typename Address>
class RangeSweep {
public:
    struct Prefix {
        Address first, last;
        Verdict verdict;
        const Rule *rule;
    };

    RangeSweep(RuleReport *report, const RuleSet *set, bool rule_edges)
        : report_(report), set_(set), rule_edges_(rule_edges) {}

    template <typename Emit>
    void run(std::span<const Rule> rules, Prefix (*to_prefix)(const Rule &), Emit &&emit) {
        pending_ = {Address(0), Verdict::none, nullptr};
        emitted_ = 0;
        stack_.clear();
        const Rule *end = rules.data() + rules.size();
        for (const Rule *r = rules.data(); r != end;) {
            Prefix p = to_prefix(*r);
            const Rule *same = r + 1;
            for (; same != end && same->hi == r->hi && same->lo == r->lo && same->prefix_len == r->prefix_len; ++same) {
                bool tie = same->verdict != r->verdict;
                if (same->verdict == Verdict::deny) p.verdict = Verdict::deny;
                note(tie ? &RuleReport::ties : &RuleReport::duplicates, *same, *r, tie ? "tie with" : "duplicates");
            }
            while (!stack_.empty() && stack_.back().last < p.first) pop(emit);
            if (!stack_.empty()) note(&RuleReport::nested, *r, *stack_.back().rule, "lies inside");
            boundary(p.first, p.verdict, p.rule, emit);
            stack_.push_back(p);
            r = same;
        }
        while (!stack_.empty()) pop(emit);
        flush(emit);
    }

private:
    template <typename Emit>
    void pop(Emit &emit) {
        Prefix top = stack_.back();
        stack_.pop_back();
        if (top.last == ~Address(0)) return;  // reaches the end of the address space
        if (stack_.empty()) boundary(top.last + 1, Verdict::none, nullptr, emit);
        else boundary(top.last + 1, stack_.back().verdict, stack_.back().rule, emit);
    }

    // `rule`: the first of the rules that decide from `at` on (nullptr: none).
    template <typename Emit>
    void boundary(Address at, Verdict verdict, const Rule *rule, Emit &emit) {
        if (at == pending_.first) {
            pending_.verdict = verdict;
            pending_.rule = rule;
            return;
        }
        flush(emit);
        pending_ = {at, verdict, rule};
    }

    template <typename Emit>
    void flush(Emit &emit) {
        if (emitted_ > 0 && pending_.verdict == last_verdict_ && (!rule_edges_ || pending_.rule == last_rule_)) return;
        emit(pending_.first, pending_.verdict);
        last_verdict_ = pending_.verdict;
        last_rule_ = pending_.rule;
        ++emitted_;
    }

    // Without a report (writing ranges, not compiling), nothing is noted.
    void note(std::size_t RuleReport::*counter, const Rule &rule, const Rule &other, const char *relation) {
        if (!report_) return;
        if ((report_->*counter)++ < max_examples)
            report_->examples.push_back(describe_rule(*set_, rule) + " " + relation + " " + describe_rule(*set_, other));
    }

    struct Boundary {
        Address first;
        Verdict verdict;
        const Rule *rule;
    } pending_{};
    Verdict last_verdict_ = Verdict::none;
    const Rule *last_rule_ = nullptr;
    std::size_t emitted_ = 0;
    std::vector<Prefix> stack_;
    RuleReport *report_;
    const RuleSet *set_;
    bool rule_edges_;
};

std::size_t ipv4_count(const RuleSet &set) {
    return static_cast<std::size_t>(
        std::partition_point(set.rules.begin(), set.rules.end(), [](const Rule &r) { return r.is_ipv4(); }) -
        set.rules.begin());
}

// A family's ranges: the address the sweep walks (IPv4 32 bits, IPv6 128),
// where the family's rules lie in a compiled set (IPv4 first), and how a
// start is stored (IPv6: high and low halves, two words a range).
template <typename AddressType, typename WordType>
struct FamilyRanges {
    using Address = AddressType;
    using Word = WordType;
    static constexpr unsigned bits = 8 * sizeof(Address);
    static constexpr bool ipv6 = bits == 128;
    static constexpr std::size_t words = sizeof(Address) / sizeof(Word);
    static constexpr const char *name = ipv6 ? "IPv6" : "IPv4";
    static constexpr std::size_t CompiledRules::*rule_count =
        ipv6 ? &CompiledRules::ipv6_rules : &CompiledRules::ipv4_rules;
    static constexpr std::size_t CompiledRules::*range_count =
        ipv6 ? &CompiledRules::ipv6_ranges : &CompiledRules::ipv4_ranges;

    static std::span<const Rule> rules(const RuleSet &set, std::size_t ipv4_rules) {
        return ipv6 ? std::span(set.rules).subspan(ipv4_rules) : std::span(set.rules).first(ipv4_rules);
    }
    // IPv4 rules are IPv4-mapped: their address is the low 32 bits, their length past /96.
    static typename RangeSweep<Address>::Prefix prefix(const Rule &rule) {
        unsigned len = rule.prefix_len - (128u - bits);
        Address first = static_cast<Address>((u128(rule.hi) << 64) | rule.lo);
        Address host = len == 0 ? ~Address(0) : (Address(1) << (bits - len)) - 1;
        return {first, first | host, rule.verdict, &rule};
    }
    static void store(Word *start, Address address) {
        for (std::size_t i = 0; i < words; ++i)
            start[i] = static_cast<Word>(address >> (8 * sizeof(Word) * (words - 1 - i)));
    }
};
using Ipv4Ranges = FamilyRanges<std::uint32_t, std::uint32_t>;
using Ipv6Ranges = FamilyRanges<u128, std::uint64_t>;

// Counts a sorted family's ranges, noting duplicates, ties and nesting.
template <typename Family>
void count_ranges(RuleSet &set, CompiledRules &compiled) {
    RangeSweep<typename Family::Address>(&compiled.report, &set, compiled.rule_edges)
        .run(Family::rules(set, compiled.ipv4_rules), Family::prefix,
             [&](typename Family::Address, Verdict) { ++(compiled.*Family::range_count); });
}

template <typename Family>
void write_ranges(const RuleSet &set, const CompiledRules &compiled, std::span<typename Family::Word> starts,
                  std::span<std::uint8_t> verdicts) {
    std::size_t ranges = compiled.*Family::range_count;
    std::span<const Rule> rules = Family::rules(set, ipv4_count(set));
    if (starts.size() != Family::words * ranges || verdicts.size() != ranges ||
        rules.size() != compiled.*Family::rule_count)
        throw Error(std::string("internal error: ") + Family::name + " range table does not match the compiled rules");
    std::size_t i = 0;
    RangeSweep<typename Family::Address>(nullptr, &set, compiled.rule_edges)
        .run(rules, Family::prefix, [&](typename Family::Address start, Verdict verdict) {
            Family::store(&starts[Family::words * i], start);
            verdicts[i++] = static_cast<std::uint8_t>(verdict);
        });
}

// Below this many rules std::sort is as quick.
constexpr std::size_t radix_min_rules = std::size_t(1) << 15;

u128 rule_address(const Rule &rule) { return u128(rule.hi) << 64 | rule.lo; }

// A large set in compiled order: IPv4 first, each family by `less`. Two
// stable counting passes order the rules by family and 16 bits of the
// address (the family's highest 16 that differ, so clustered addresses still
// spread), which leaves runs of a few rules to sort by insertion. std::sort
// moved every 24-byte record through some twenty partition levels, and one
// pass into 65536 buckets at once missed the cache on every write. Equal
// rules keep the order they were read in (the partition and std::sort
// before left them in none).
template <typename Less>
void radix_sort_rules(std::vector<Rule> &rules, Less less) {
    std::size_t n = rules.size();
    u128 any[2] = {0, 0}, all[2] = {~u128(0), ~u128(0)};  // by family, IPv4 first
    for (const Rule &r : rules) {
        any[!r.is_ipv4()] |= rule_address(r);
        all[!r.is_ipv4()] &= rule_address(r);
    }
    unsigned shift[2];
    for (int f = 0; f < 2; ++f) {
        unsigned top = 0;  // one past the highest bit that differs
        for (u128 d = any[f] & ~all[f]; d != 0; d >>= 1) ++top;
        shift[f] = top > 16 ? top - 16 : 0;
    }
    auto digit = [&](const Rule &r) {
        unsigned family = !r.is_ipv4();
        return family << 16 | (static_cast<unsigned>(rule_address(r) >> shift[family]) & 0xffff);
    };

    // The first pass orders by family and the low byte; it leaves each
    // family in a segment of its own, and the second pass (the high byte)
    // and the runs' sorting of one family share nothing with the other's:
    // the two families are finished on two threads.
    auto low_key = [&](const Rule &r) {
        unsigned d = digit(r);
        return (d >> 8 & 0x100) | (d & 0xff);
    };
    auto high_key = [&](const Rule &r) { return digit(r) >> 8 & 0xff; };
    std::size_t low_counts[512] = {}, high_counts[2][256] = {};
    for (const Rule &r : rules) {
        ++low_counts[low_key(r)];
        ++high_counts[!r.is_ipv4()][high_key(r)];
    }
    // Whole huge pages: a partial one at the end would be hundreds of small ones.
    constexpr std::size_t huge_page = std::size_t(1) << 21;
    std::size_t bytes = (n * sizeof(Rule) + huge_page - 1) & ~(huge_page - 1);
    std::unique_ptr<Rule, void (*)(Rule *)> buffer(
        static_cast<Rule *>(::operator new(bytes, std::align_val_t(huge_page))),
        [](Rule *p) { ::operator delete(p, std::align_val_t(huge_page)); });
    advise_huge_pages(buffer.get(), bytes);
    auto pass = [](const Rule *from, std::size_t count, Rule *to, std::span<const std::size_t> counts, auto key) {
        std::size_t next[512], at = 0;
        for (std::size_t b = 0; b < counts.size(); ++b) {
            next[b] = at;
            at += counts[b];
        }
        for (const Rule *r = from; r != from + count; ++r) to[next[key(*r)]++] = *r;
    };
    pass(rules.data(), n, buffer.get(), low_counts, low_key);
    std::size_t ipv4 = 0;
    for (int b = 0; b < 256; ++b) ipv4 += low_counts[b];

    auto finish = [&](std::size_t first, std::size_t count, int family) {
        Rule *run = rules.data() + first, *last = run + count;
        pass(buffer.get() + first, count, run, high_counts[family], high_key);
        while (run != last) {
            unsigned d = digit(*run);
            Rule *end = run + 1;
            while (end != last && digit(*end) == d) ++end;
            if (end - run > 32) {
                std::stable_sort(run, end, less);
            } else {
                for (Rule *r = run + 1; r < end; ++r) {
                    Rule rule = *r;
                    Rule *at = r;
                    for (; at != run && less(rule, at[-1]); --at) *at = at[-1];
                    *at = rule;
                }
            }
            run = end;
        }
    };
    run_in_parallel([&] { finish(0, ipv4, 0); }, [&] { finish(ipv4, n - ipv4, 1); });
}

}  // namespace

std::string_view verdict_word(Verdict verdict) { return verdict == Verdict::deny ? "deny" : "allow"; }

std::string format_rule_prefix(const Rule &rule) {
    Subnet subnet;
    if (rule.is_ipv4()) {
        subnet.address.family = Family::ipv4;
        for (int i = 0; i < 4; ++i) subnet.address.bytes[i] = static_cast<std::uint8_t>(rule.lo >> (24 - 8 * i));
        subnet.prefix_len = rule.prefix_len - 96u;
    } else {
        subnet.address.family = Family::ipv6;
        for (int i = 0; i < 8; ++i) {
            subnet.address.bytes[i] = static_cast<std::uint8_t>(rule.hi >> (56 - 8 * i));
            subnet.address.bytes[8 + i] = static_cast<std::uint8_t>(rule.lo >> (56 - 8 * i));
        }
        subnet.prefix_len = rule.prefix_len;
    }
    return format_subnet(subnet);
}

void add_rule(RuleSet &set, Verdict verdict, std::string_view cidr, std::uint32_t line) {
    std::string option = std::string("--") + std::string(verdict_word(verdict));
    if (cidr.empty()) throw Error(option + ": the address is empty; give a CIDR such as 10.0.0.0/8 or 2001:db8::/32");
    bool host_bits = false;
    Rule rule = with_context(option + " " + quote_input(cidr), [&] { return parse_rule_prefix(cidr, host_bits); });
    rule.verdict = verdict;
    rule.line = line;
    rule.source = 0;
    if (host_bits)
        set.warnings.push_back(option + " " + std::string(cidr) + ": host bits set; using " + format_rule_prefix(rule));
    if (std::string warning = mapped_prefix_warning(cidr, rule); !warning.empty())
        set.warnings.push_back(option + " " + warning);
    set.rules.push_back(rule);
}

constexpr std::size_t max_rules_line = 64 * 1024;

[[noreturn]] void throw_line_too_long(const std::string &path, std::uint32_t line_number) {
    // The longest rule is ~60 bytes with a comment; a line of megabytes is
    // not a rules file (or a sparse one of zeros).
    throw Error("rules file " + path + ": line " + std::to_string(line_number) + " is longer than " +
                std::to_string(max_rules_line) + " bytes: not a rules file");
}

// The lines of `text` (the last may lack its newline), the first numbered
// line_number + 1. Returns the number of the last.
std::uint32_t parse_rules_lines(RulesSink &sink, std::string_view text, std::uint32_t line_number,
                                const std::string &path) {
    while (!text.empty()) {
        auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        if (line.size() > max_rules_line) throw_line_too_long(path, line_number + 1);
        parse_rules_line(sink, line, ++line_number, path);
        if (newline == std::string_view::npos) break;
        text.remove_prefix(newline + 1);
    }
    return line_number;
}

// A block of whole lines, parsed by two threads when it is large: the
// second half into rules of its own, appended after the first's, so the
// rules, their line numbers, the warnings and the error reported (the first
// in the file) are what one thread reading line by line would give. Parsing
// is most of the time a million rules take to load; the second CPU halves it.
std::uint32_t parse_rules_block(RulesSink &sink, std::string_view text, std::uint32_t line_number,
                                const std::string &path) {
    constexpr std::size_t parallel_min = std::size_t(1) << 20;
    std::size_t middle = text.size() < parallel_min ? std::string_view::npos : text.find('\n', text.size() / 2);
    if (middle == std::string_view::npos || middle + 1 == text.size())
        return parse_rules_lines(sink, text, line_number, path);
    std::string_view first = text.substr(0, middle + 1), second = text.substr(middle + 1);

    std::vector<Rule> rules;
    std::vector<std::string> warnings;
    rules.reserve(second.size() / 8 + 1);  // as read_rules_file reserves: address space until written
    RulesSink second_sink{rules, warnings, sink.source};
    std::uint32_t last_line = 0;
    run_in_parallel([&] { parse_rules_lines(sink, first, line_number, path); },
                    [&] {
                        auto before = static_cast<std::uint32_t>(std::count(first.begin(), first.end(), '\n'));
                        last_line = parse_rules_lines(second_sink, second, line_number + before, path);
                    });
    sink.rules.insert(sink.rules.end(), rules.begin(), rules.end());
    sink.warnings.insert(sink.warnings.end(), std::make_move_iterator(warnings.begin()),
                         std::make_move_iterator(warnings.end()));
    if (sink.host_bits == 0) sink.first_host_bits = std::move(second_sink.first_host_bits);
    sink.host_bits += second_sink.host_bits;
    return last_line;
}

void read_rules_file(RuleSet &set, const std::string &path) {
    if (set.sources.size() > std::numeric_limits<std::uint8_t>::max())
        throw Error("rules file " + path + ": too many rules files (at most 255)");
    UniqueFd fd(open_file(path, "rules file"));
    struct stat st;
    bool regular = fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode);
    if (regular) {
        // An upper bound ("deny ::" and a newline is the shortest rule line);
        // pages never written are never backed, so the reserve costs address
        // space only and the vector is never copied while it grows.
        set.rules.reserve(set.rules.size() +
                          static_cast<std::size_t>(std::min<off_t>(st.st_size, off_t(1) << 24)) / 8 + 1);
        advise_huge_pages(set.rules.data() + set.rules.size(),
                          (set.rules.capacity() - set.rules.size()) * sizeof(Rule));
    }
    set.sources.push_back(path);
    RulesSink sink{set.rules, set.warnings, static_cast<std::uint8_t>(set.sources.size() - 1)};

    // Read in blocks of up to 4 MiB, not zero-filled: a small file (or one of
    // many) costs only what it holds, a large one no more than the block.
    // Each block is parsed up to its last line end; the line cut there
    // begins the next. A block holds at least the longest line allowed, so a
    // full block without a line end is a line too long.
    constexpr std::size_t block_max = std::size_t(4) << 20;
    std::size_t block_size = regular ? std::clamp<std::size_t>(static_cast<std::size_t>(st.st_size) + 1,
                                                               max_rules_line + 1, block_max)
                                     : block_max;
    std::unique_ptr<char[]> buffer(new char[block_size]);
    std::size_t filled = 0;  // bytes in the buffer, the cut line first
    std::uint32_t line_number = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.get() + filled, block_size - filled);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("rules file " + path + ": cannot read: " + std::strerror(errno));
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
        if (filled < block_size && regular) continue;  // fill the block first
        std::string_view block(buffer.get(), filled);
        std::size_t end = block.rfind('\n');
        if (end == std::string_view::npos) {
            if (filled > max_rules_line) throw_line_too_long(path, line_number + 1);
            continue;
        }
        line_number = parse_rules_block(sink, block.substr(0, end + 1), line_number, path);
        if (filled - end - 1 > max_rules_line) throw_line_too_long(path, line_number + 1);
        std::memmove(buffer.get(), buffer.get() + end + 1, filled - end - 1);
        filled -= end + 1;
    }
    parse_rules_block(sink, std::string_view(buffer.get(), filled), line_number, path);
    if (sink.host_bits == 1) set.warnings.push_back(sink.first_host_bits);
    else if (sink.host_bits > 1)
        set.warnings.push_back(sink.first_host_bits + " (and " + std::to_string(sink.host_bits - 1) + " more lines of " +
                               path + " with host bits set)");
}

RuleSet read_rules(const std::vector<std::string> &allow, const std::vector<std::string> &deny,
                   const std::vector<std::string> &files) {
    RuleSet set;
    std::uint32_t position = 0;
    for (const auto &cidr : allow) add_rule(set, Verdict::allow, cidr, ++position);
    for (const auto &cidr : deny) add_rule(set, Verdict::deny, cidr, ++position);
    if (files.size() > std::numeric_limits<std::uint8_t>::max())
        throw Error("--rules-file: " + std::to_string(files.size()) + " files given, at most 255 (merge them)");
    for (const auto &file : files) read_rules_file(set, file);
    return set;
}

CompiledRules compile_rules(RuleSet &set, bool rule_edges) {
    CompiledRules compiled;
    compiled.rule_edges = rule_edges;
    auto by_prefix = [](const Rule &a, const Rule &b) {
        if (a.hi != b.hi) return a.hi < b.hi;
        if (a.lo != b.lo) return a.lo < b.lo;
        if (a.prefix_len != b.prefix_len) return a.prefix_len < b.prefix_len;
        return a.verdict < b.verdict;  // allow first: ties are reported against an allow rule
    };
    // A set read back from a running filter is sorted, and a live change
    // appends a few rules: sort the tail and merge, in linear time.
    auto mostly_unsorted = [](auto first, auto sorted_until, auto last) {
        return (last - sorted_until) * 16 > (last - first);
    };
    auto sort = [&](auto first, auto last) {
        auto sorted_until = std::is_sorted_until(first, last, by_prefix);
        if (sorted_until == last) return;
        if (mostly_unsorted(first, sorted_until, last)) {
            std::sort(first, last, by_prefix);
            return;
        }
        std::sort(sorted_until, last, by_prefix);
        std::inplace_merge(first, sorted_until, last, by_prefix);
    };
    auto in_order = [&](const Rule &a, const Rule &b) {
        return a.is_ipv4() != b.is_ipv4() ? a.is_ipv4() : by_prefix(a, b);
    };
    auto begin = set.rules.begin(), end = set.rules.end();
    if (set.rules.size() >= radix_min_rules && mostly_unsorted(begin, std::is_sorted_until(begin, end, in_order), end)) {
        radix_sort_rules(set.rules, by_prefix);
    } else {
        auto split = std::partition(begin, end, [](const Rule &r) { return r.is_ipv4(); });
        sort(begin, split);
        sort(split, end);
    }
    compiled.ipv4_rules = ipv4_count(set);
    compiled.ipv6_rules = set.rules.size() - compiled.ipv4_rules;
    compiled.default_verdict = std::any_of(set.rules.begin(), set.rules.end(),
                                           [](const Rule &r) { return r.verdict == Verdict::allow; })
                                   ? Verdict::deny
                                   : Verdict::allow;
    count_ranges<Ipv4Ranges>(set, compiled);
    count_ranges<Ipv6Ranges>(set, compiled);
    return compiled;
}

void write_ranges4(const RuleSet &set, const CompiledRules &compiled, std::span<std::uint32_t> starts,
                   std::span<std::uint8_t> verdicts) {
    write_ranges<Ipv4Ranges>(set, compiled, starts, verdicts);
}

void write_ranges6(const RuleSet &set, const CompiledRules &compiled, std::span<std::uint64_t> starts,
                   std::span<std::uint8_t> verdicts) {
    write_ranges<Ipv6Ranges>(set, compiled, starts, verdicts);
}

Verdict lookup_ranges4(std::span<const std::uint32_t> starts, std::span<const std::uint8_t> verdicts,
                       std::uint32_t address) {
    auto after = std::upper_bound(starts.begin(), starts.end(), address);
    if (after == starts.begin()) return Verdict::none;
    return static_cast<Verdict>(verdicts[static_cast<std::size_t>(after - starts.begin()) - 1]);
}

Verdict lookup_ranges6(std::span<const std::uint64_t> starts, std::span<const std::uint8_t> verdicts,
                       std::uint64_t hi, std::uint64_t lo) {
    std::size_t first = 0, count = verdicts.size();  // first range starting above (hi, lo)
    while (count > 0) {
        std::size_t half = count / 2, probe = first + half;
        if (std::pair(starts[2 * probe], starts[2 * probe + 1]) <= std::pair(hi, lo)) {
            first = probe + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    return first == 0 ? Verdict::none : static_cast<Verdict>(verdicts[first - 1]);
}

std::string describe_rule(const RuleSet &set, const Rule &rule) {
    std::string text = std::string(verdict_word(rule.verdict)) + " " + format_rule_prefix(rule);
    if (rule.source == 0) return "--" + text;
    return text + " (" + set.sources[rule.source] + ":" + std::to_string(rule.line) + ")";
}

}  // namespace alf
