// Rules changed in place (alfctl rules allow/deny/remove): after every change
// the kernel's verdicts agree with the plain reference on the rules as they
// now are, the list holds exactly those rules, and a change that cannot be
// made in place is published whole with the same result.
#include "bpf/filter_object.hpp"
#include "bpf/program_metadata.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"
#include "compile/builtin_filters.hpp"
#include "inputs/rule_edits.hpp"
#include "inputs/rule_hits.hpp"
#include "inputs/rule_list.hpp"
#include "inputs/rule_table_memory.hpp"
#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"
#include "live/live_rules.hpp"
#include "workbench/test_run.hpp"
#include "rule_reference.hpp"
#include "test_support.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace alf;

namespace {

// A loaded rules filter and its maps, as alfctl finds them.
struct RunningTables {
    FilterObject filter;
    UniqueFd list;
    RuleMaps maps;

    // guarded: the search a delegated alfwrapper (CAP_BPF alone) loads.
    explicit RunningTables(RuleSet set, bool count_hits = false, bool guarded = false)
        : filter(FilterObject::open(*find_builtin_filter("subnets"), "subnets")) {
        CompiledRules compiled = compile_rules(set, count_hits);
        size_rule_tables(filter, compiled, {}, count_hits);
        filter.assume_stack_stores_guarded(guarded);
        filter.load();
        write_rule_tables(filter, set, compiled);
        for (auto &map : program_maps(filter.program_fd()))
            if (std::strcmp(map.info.name, rule_list_map) == 0) list = std::move(map.fd);
        maps = {bpf_map__fd(filter.map_if_declared("alf_rules4")), bpf_map__fd(filter.map_if_declared("alf_rules6")),
                bpf_map__fd(filter.map_if_declared("alf_rules_state")), list.get(),
                bpf_map__fd(filter.map_if_declared(rule_hits_map))};
    }
};

// The rules as the test keeps them: prefix text -> its verdicts (two on a
// tie, or a duplicate the rules started with).
using Rules = std::map<std::string, std::multiset<Verdict>>;

Rules rules_of_set(const RuleSet &set) {
    Rules rules;
    for (const auto &rule : set.rules) rules[format_rule_prefix(rule)].insert(rule.verdict);
    return rules;
}

WrittenRules written(const Rules &rules) {
    WrittenRules out;
    for (const auto &[cidr, verdicts] : rules)
        for (Verdict v : verdicts) out.add(v, cidr);
    return out;
}

IpAddress address_of(std::uint64_t hi, std::uint64_t lo, bool ipv4) {
    IpAddress a;
    if (ipv4) {
        a.family = Family::ipv4;
        for (int i = 0; i < 4; ++i) a.bytes[i] = static_cast<std::uint8_t>(lo >> (24 - 8 * i));
        return a;
    }
    a.family = Family::ipv6;
    for (int i = 0; i < 8; ++i) a.bytes[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    for (int i = 0; i < 8; ++i) a.bytes[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
    return a;
}

// The first and last address of a rule's prefix and their neighbours
// outside it (within the family's space).
std::vector<IpAddress> edges(const Rule &rule) {
    RuleRecord first = rule_record(rule), last = prefix_last(first);
    bool ipv4 = rule.is_ipv4();
    std::vector<IpAddress> out = {address_of(first.hi, first.lo, ipv4), address_of(last.hi, last.lo, ipv4)};
    std::uint64_t low_first = ipv4 ? first.lo & 0xffffffff : first.lo;
    if (!(low_first == 0 && (ipv4 || first.hi == 0)))
        out.push_back(address_of(first.hi - (first.lo == 0), first.lo - 1, ipv4));
    bool at_end = ipv4 ? (last.lo & 0xffffffff) == 0xffffffff : (last.hi == ~0ull && last.lo == ~0ull);
    if (!at_end) out.push_back(address_of(last.hi + (last.lo == ~0ull), last.lo + 1, ipv4));
    return out;
}

void check_verdicts(const RunningTables &t, const Rules &rules, std::mt19937_64 &random,
                    const std::vector<IpAddress> &also) {
    Reference reference(written(rules));
    std::vector<IpAddress> probes = also;
    for (int i = 0; i < 300; ++i) probes.push_back(random_address(random));
    for (const auto &source : probes) {
        IpAddress destination = source.family == Family::ipv4 ? ip("192.0.2.1") : ip("2001:db8::1");
        bool admitted = test_run_filter(t.filter.program_fd(), synthetic_tcp_syn(source, destination)).verdict != 0;
        INFO("source " << format_ip(source));
        REQUIRE(admitted == (reference.decide(source) == allow));
    }
}

// After a change made in place, both slots of each table hold the same
// table: the window, the index and every entry written (past them the
// slots may differ; nothing reads there).
void check_slots_level(const RuleMaps &maps) {
    RuleCapacity capacity = rule_capacity(maps);
    auto check = [](int fd, const RuleTableLayout &layout, std::size_t start_bytes, const char *family) {
        MappedArray table(fd, family);
        const std::uint8_t *a = table.bytes(), *b = table.bytes() + layout.slot_bytes;
        std::size_t header = sizeof(RulesWindow) + 4 * (layout.buckets() + 1);
        INFO(family);
        REQUIRE(std::memcmp(a, b, header) == 0);
        std::uint32_t past_window;
        std::memcpy(&past_window, a + sizeof(RulesWindow) + 4 * layout.buckets(), 4);
        std::size_t used = std::min<std::size_t>(past_window, layout.capacity() - 1) + 1;
        REQUIRE(std::memcmp(a + layout.starts_offset, b + layout.starts_offset, used * start_bytes) == 0);
        REQUIRE(std::memcmp(a + layout.verdicts_offset, b + layout.verdicts_offset, used) == 0);
    };
    check(maps.ipv4, capacity.ipv4, 4, "IPv4 table");
    check(maps.ipv6, capacity.ipv6, 16, "IPv6 table");
}

// A prefix to change: one of the rules, one inside one, or a new one.
std::string pick_prefix(std::mt19937_64 &random, const Rules &rules, bool spread) {
    if (!rules.empty() && random() % 3 != 0) {
        auto it = std::next(rules.begin(), static_cast<long>(random() % rules.size()));
        if (random() % 2 == 0) return it->first;
        RuleSet parsed;
        add_rule(parsed, allow, it->first);
        const Rule &r = parsed.rules[0];
        if (r.prefix_len == 128) return it->first;
        unsigned longer = r.prefix_len + 1 + static_cast<unsigned>(random() % (128 - r.prefix_len));
        // An address of the prefix, cut to the longer length.
        RuleRecord inner = rule_record(r), last = prefix_last(inner);
        inner.hi |= random() & (last.hi ^ inner.hi);
        inner.lo |= random() & (last.lo ^ inner.lo);
        inner = prefix_truncated(inner, longer);
        return format_rule_prefix(record_rule(inner));
    }
    WrittenRules fresh = spread ? random_spread_rules(random, 1) : random_rules(random, 1);
    RuleSet parsed = fresh.parsed();
    return format_rule_prefix(parsed.rules[0]);
}

}  // namespace

TEST_CASE("rules changed in place agree with the reference after every change (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    std::mt19937_64 random(23);
    int in_place = 0, whole = 0;
    for (int round = 0; round < 3; ++round) {
        bool spread = round == 1;
        WrittenRules initial = round == 0 ? random_rules(random, 300)
                               : spread   ? random_spread_rules(random, 3000)
                                          : random_rules(random, 3);
        RuleSet set = initial.parsed();
        Rules rules = rules_of_set(set);
        RunningTables t(set);
        for (int change = 0; change < 60; ++change) {
            bool remove = !rules.empty() && random() % 3 == 0;
            std::vector<std::string> cidrs;
            for (int k = 1 + static_cast<int>(random() % 3); k > 0; --k) {
                std::string cidr = remove ? std::next(rules.begin(), static_cast<long>(random() % rules.size()))->first
                                          : pick_prefix(random, rules, spread);
                if (std::find(cidrs.begin(), cidrs.end(), cidr) == cidrs.end()) cidrs.push_back(cidr);
            }
            Verdict verdict = random() % 2 ? allow : deny;
            RuleSet given;
            for (const auto &cidr : cidrs) add_rule(given, verdict, cidr);
            std::vector<IpAddress> near;
            for (const auto &rule : given.rules) {
                auto e = edges(rule);
                near.insert(near.end(), e.begin(), e.end());
                if (remove) rules.erase(format_rule_prefix(rule));
                else rules[format_rule_prefix(rule)] = {verdict};
            }
            std::string what = "round " + std::to_string(round) + " change " + std::to_string(change) +
                               (remove ? ": remove " : ": set ") + cidrs.front();
            INFO(what);
            RuleEditOutcome outcome;
            {
                RulesLock lock(t.maps);
                outcome = edit_rules(t.maps, given.rules, remove);
            }
            (outcome.in_place ? in_place : whole)++;
            CHECK(outcome.rules == [&] {
                std::size_t n = 0;
                for (const auto &[cidr, verdicts] : rules) n += verdicts.size();
                return n;
            }());
            check_verdicts(t, rules, random, near);
            CHECK(rules_of_set(read_rule_list(t.maps)) == rules);
            if (outcome.in_place) check_slots_level(t.maps);
        }
        // Removing a rule that is not there changes nothing.
        std::uint32_t before = read_rules_state(t.maps).generation;
        RuleSet absent;
        add_rule(absent, allow, "203.0.113.77");
        REQUIRE_FALSE(rules.count("203.0.113.77/32"));  // the random rules (fixed seed) never hold it
        {
            RulesLock lock(t.maps);
            CHECK_THROWS_WITH_AS(edit_rules(t.maps, absent.rules, true),
                                 doctest::Contains("no rule for 203.0.113.77/32 to remove; nothing was changed"), Error);
        }
        CHECK(read_rules_state(t.maps).generation == before);
    }
    // The changes must mostly stay in place (else this tests the slow path).
    CHECK(in_place > 3 * whole);
    MESSAGE(in_place << " changes in place, " << whole << " published whole");
}

TEST_CASE("a list written before changes in place is changed by publishing the set whole, and is in place order after (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    RunningTables t(rules_of({{allow, "10.0.0.0/8"}, {deny, "10.1.0.0/16"}}));
    {
        // The list as an alfwrapper before in-place changes left it: format 0.
        RuleListHeader header{};
        std::uint32_t key = 0;
        REQUIRE(bpf_map_lookup_elem(t.list.get(), &key, &header) == 0);
        header.format = 0;
        header.records = header.allows = 0;
        REQUIRE(bpf_map_update_elem(t.list.get(), &key, &header, 0) == 0);
    }
    RulesLock lock(t.maps);
    RuleEditOutcome outcome = edit_rules(t.maps, rules_of({{deny, "10.2.0.0/16"}}).rules, false);
    CHECK_FALSE(outcome.in_place);
    CHECK(outcome.rules == 3);
    CHECK(rules_of_set(read_rule_list(t.maps)) == Rules{{"10.0.0.0/8", {allow}}, {"10.1.0.0/16", {deny}},
                                                         {"10.2.0.0/16", {deny}}});
    // Written whole, the list is in place order again: the next change is made in place.
    CHECK(edit_rules(t.maps, rules_of({{allow, "10.2.3.0/24"}}).rules, false).in_place);
}

TEST_CASE("more rules than the list holds change nothing, and the rules stay readable (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    RunningTables t(rules_of({{allow, "10.0.0.0/8"}}));
    RuleCapacity capacity = rule_capacity(t.maps);
    RuleSet many;
    for (std::size_t i = 0; i < capacity.rules; ++i)
        add_rule(many, deny, "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24");
    std::uint32_t before = read_rules_state(t.maps).generation;
    RulesLock lock(t.maps);
    CHECK_THROWS_WITH_AS(edit_rules(t.maps, many.rules, false), doctest::Contains("nothing was changed"), Error);
    CHECK(read_rules_state(t.maps).generation == before);
    CHECK(read_rule_list(t.maps).rules.size() == 1);
}

namespace {

using Hits = std::map<std::string, std::uint64_t>;  // "deny 10.0.0.0/8" or "default" -> packets

std::string rule_text(const Rule &rule) { return std::string(verdict_word(rule.verdict)) + " " + format_rule_prefix(rule); }

// What the filter counted, attributed by the product.
Hits counted(const RunningTables &t) {
    RuleSet rules = read_rule_list(t.maps);
    compile_rules(rules);
    Hits hits;
    for (const RuleHits &h : read_rule_hits(t.maps, rules))
        hits[h.rule < 0 ? "default" : rule_text(rules.rules[static_cast<std::size_t>(h.rule)])] += h.packets;
    return hits;
}

// Sends each source through the filter once; returns what the reference
// says each rule decided.
Hits send(const RunningTables &t, const WrittenRules &rules, const std::vector<IpAddress> &sources) {
    Reference reference(rules);
    RuleSet parsed = rules.parsed();
    Hits expected;
    for (const auto &source : sources) {
        IpAddress destination = source.family == Family::ipv4 ? ip("192.0.2.1") : ip("2001:db8::1");
        test_run_filter(t.filter.program_fd(), synthetic_tcp_syn(source, destination));
        int rule = reference.deciding(source);
        expected[rule < 0 ? "default" : rule_text(parsed.rules[static_cast<std::size_t>(rule)])]++;
    }
    return expected;
}

// Random addresses, some inside each of a few rules.
std::vector<IpAddress> sources_for(std::mt19937_64 &random, const RuleSet &rules, int count) {
    std::vector<IpAddress> sources;
    for (int i = 0; i < count; ++i) {
        if (i % 2 == 0 || rules.rules.empty()) {
            sources.push_back(random_address(random));
            continue;
        }
        const Rule &rule = rules.rules[random() % rules.rules.size()];
        RuleRecord first = rule_record(rule), last = prefix_last(first);
        sources.push_back(address_of(first.hi | (random() & (last.hi ^ first.hi)),
                                     first.lo | (random() & (last.lo ^ first.lo)), rule.is_ipv4()));
    }
    return sources;
}

}  // namespace

TEST_CASE("hits per rule: each packet is counted for the rule that decided it, and a change restarts the counts it rewrites (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    std::mt19937_64 random(41);
    WrittenRules written = random_rules(random, 200);
    written.append(random_spread_rules(random, 200));
    RuleSet set = written.parsed();
    {
        // The search a delegated alfwrapper (CAP_BPF alone) loads counts as
        // the one loaded as root does, below.
        RunningTables guarded(set, true, true);
        Hits sent = send(guarded, written, sources_for(random, set, 600));
        CHECK(sent.size() > 50);
        CHECK(counted(guarded) == sent);
    }
    RunningTables t(set, true);
    REQUIRE(counts_rule_hits(t.maps.hits));
    CHECK(counted(t).empty());

    // Exactly what the reference decides, rule by rule (the default too).
    Hits sent = send(t, written, sources_for(random, set, 600));
    CHECK(sent.size() > 50);
    CHECK(counted(t) == sent);

    // A prefix denied in place: its rule counts the packets after the
    // change alone; every other rule keeps at most what it had.
    WrittenRules change;
    change.add(deny, "203.0.113.0/24");
    RuleSet given = change.parsed();
    // No rule of the set lies inside it: it decides for every address of its own.
    RuleRecord changed_prefix = rule_record(given.rules[0]);
    for (const Rule &rule : set.rules) {
        RuleRecord cut = prefix_truncated(rule_record(rule), changed_prefix.prefix_len);
        REQUIRE_FALSE((rule.prefix_len >= changed_prefix.prefix_len && cut.hi == changed_prefix.hi &&
                       cut.lo == changed_prefix.lo));
    }
    {
        RulesLock lock(t.maps);
        REQUIRE(edit_rules(t.maps, given.rules, false).in_place);
    }
    std::string changed = rule_text(given.rules[0]);
    WrittenRules now = written;
    std::erase_if(now.rules, [&](const WrittenRule &r) {
        RuleSet one;
        add_rule(one, r.verdict, r.cidr);
        return format_rule_prefix(one.rules[0]) == format_rule_prefix(given.rules[0]);
    });
    now.append(change);
    Hits before = counted(t);
    CHECK(before.count(changed) == 0);
    for (const auto &[rule, packets] : before) CHECK(packets <= sent[rule]);
    Hits after = send(t, now, sources_for(random, given, 200));
    REQUIRE(after[changed] > 0);
    Hits total = counted(t);
    CHECK(total[changed] == after[changed]);
    for (const auto &entry : after) {
        const std::string &rule = entry.first;
        INFO(rule);
        CHECK(total[rule] >= entry.second);
        CHECK(total[rule] <= entry.second + before[rule]);
    }

    // Published whole: every count starts again.
    RuleSet again = now.parsed();
    CompiledRules compiled = compile_rules(again, true);
    {
        RulesLock lock(t.maps);
        publish_rules(t.maps, again, compiled);
    }
    CHECK(counted(t).empty());
    Hits fresh = send(t, now, sources_for(random, again, 300));
    CHECK(counted(t) == fresh);
}

TEST_CASE("without --rule-hits the filter counts no hits per rule, and says how to start counting (needs root)" * root_suite) {
    require_root("loading the rules filter needs root (CAP_BPF)");
    RunningTables t(rules_of({{allow, "10.0.0.0/8"}}));
    CHECK_FALSE(counts_rule_hits(t.maps.hits));
    RuleSet rules = read_rule_list(t.maps);
    CHECK_THROWS_WITH_AS(read_rule_hits(t.maps, rules), doctest::Contains("--rule-hits"), Error);
}

TEST_CASE("the rule that decides for a peer, one at a time (alfctl log) and swept (hits per rule), is the reference's") {
    std::mt19937_64 random(57);
    WrittenRules written = random_rules(random, 400);
    written.append(random_spread_rules(random, 400));
    written.add(deny, "10.0.0.0/8");
    written.add(allow, "10.0.0.0/8");  // a tie: the deny decides
    RunningRules running;
    running.rules = written.parsed();
    running.compiled = compile_rules(running.rules);
    RuleSet in_order = written.parsed();
    Reference reference(written);
    std::vector<IpAddress> sources = sources_for(random, in_order, 3000);
    sources.push_back(ip("10.1.2.3"));
    Hits expected, one_by_one, swept;
    std::vector<EntryHits> entries[2];
    for (const auto &source : sources) {
        int rule = reference.deciding(source);
        std::string text = rule < 0 ? "default" : rule_text(in_order.rules[static_cast<std::size_t>(rule)]);
        expected[text]++;
        bool ipv6 = source.family == Family::ipv6;
        std::string found = deciding_rule(running, ipv6, source.bytes.data());
        INFO(format_ip(source));
        CHECK((found.starts_with("no rule") ? std::string("default") : found) == text);
        one_by_one[text]++;
        Reference::Bytes bytes = Reference::mapped(source);
        EntryHits entry{.packets = 1};
        for (int i = 0; i < 8; ++i) entry.hi = entry.hi << 8 | bytes[i];
        for (int i = 8; i < 16; ++i) entry.lo = entry.lo << 8 | bytes[i];
        // An IPv4-mapped IPv6 source is looked up in the IPv4 table, as the filter does.
        entries[entry.hi != 0 || entry.lo >> 32 != 0xffff].push_back(entry);
    }
    for (bool ipv6 : {false, true})
        for (const RuleHits &h : hits_by_rule(running.rules, ipv6, entries[ipv6]))
            swept[h.rule < 0 ? "default" : rule_text(running.rules.rules[static_cast<std::size_t>(h.rule)])] +=
                h.packets;
    CHECK(expected["deny 10.0.0.0/8"] > 0);
    CHECK(one_by_one == expected);
    CHECK(swept == expected);
}
