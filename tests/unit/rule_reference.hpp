// The rule semantics written plainly, and random rule sets and addresses to
// hold the rule compiler and its back ends against them.
#pragma once

#include "common/net_address.hpp"
#include "inputs/rules.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace alf {

// The semantics written plainly: of the rules of the address's family that
// cover it, the longest decides; equal lengths with a deny deny; nothing
// covers: deny if any allow rule exists, else allow.
inline Verdict reference_decide(const RuleSet &set, const IpAddress &address) {
    IpAddress mapped = address;
    if (address.family == Family::ipv4) {
        mapped = IpAddress{Family::ipv6, {}};
        mapped.bytes[10] = mapped.bytes[11] = 0xff;
        std::copy(address.bytes.begin(), address.bytes.begin() + 4, mapped.bytes.begin() + 12);
    }
    std::uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; ++i) {
        hi = hi << 8 | mapped.bytes[i];
        lo = lo << 8 | mapped.bytes[8 + i];
    }
    bool v4 = hi == 0 && (lo >> 32) == 0xffff;
    int best = -1;
    Verdict verdict = Verdict::none;
    bool any_allow = false;
    for (const Rule &r : set.rules) {
        any_allow |= r.verdict == Verdict::allow;
        if (r.is_ipv4() != v4) continue;
        unsigned len = r.prefix_len;
        auto masked = [&](std::uint64_t value, unsigned bits) {
            return bits == 0 ? 0 : bits >= 64 ? value : value & ~((std::uint64_t(1) << (64 - bits)) - 1);
        };
        bool covers = masked(hi, std::min(len, 64u)) == r.hi && masked(lo, len > 64 ? len - 64 : 0) == r.lo;
        if (!covers) continue;
        if (static_cast<int>(len) > best) {
            best = static_cast<int>(len);
            verdict = r.verdict;
        } else if (static_cast<int>(len) == best && r.verdict == Verdict::deny) {
            verdict = Verdict::deny;
        }
    }
    if (verdict != Verdict::none) return verdict;
    return any_allow ? Verdict::deny : Verdict::allow;
}

inline IpAddress ip(const char *text) { return *parse_ip(text); }

inline RuleSet rules_of(std::initializer_list<std::pair<Verdict, const char *>> rules) {
    RuleSet set;
    for (auto [verdict, cidr] : rules) add_rule(set, verdict, cidr);
    return set;
}

inline constexpr Verdict allow = Verdict::allow, deny = Verdict::deny;

// Random rules in a small corner of each family, so they overlap a lot.
inline RuleSet random_rules(std::mt19937_64 &random, std::size_t count) {
    RuleSet set;
    char text[80];
    for (std::size_t i = 0; i < count; ++i) {
        Verdict verdict = random() % 3 == 0 ? deny : allow;
        switch (random() % 3) {
        case 0:
            std::snprintf(text, sizeof text, "10.%u.%u.%u/%u", unsigned(random() % 4), unsigned(random() % 256),
                          unsigned(random() % 256), unsigned(8 + random() % 25));
            break;
        case 1:
            std::snprintf(text, sizeof text, "2001:db8:%x::%x:%x/%u", unsigned(random() % 4),
                          unsigned(random() % 0x10000), unsigned(random() % 0x10000), unsigned(random() % 129));
            break;
        default:  // IPv4-mapped IPv6 rules are IPv4 rules
            std::snprintf(text, sizeof text, "::ffff:10.%u.%u.0/%u", unsigned(random() % 4), unsigned(random() % 256),
                          unsigned(96 + 8 + random() % 25));
        }
        add_rule(set, verdict, text);
    }
    return set;
}

inline IpAddress random_address(std::mt19937_64 &random) {
    char text[80];
    switch (random() % 5) {
    case 3:  // anywhere: mostly before or after all the rules
        std::snprintf(text, sizeof text, "%u.%u.%u.%u", unsigned(random() % 256), unsigned(random() % 256),
                      unsigned(random() % 256), unsigned(random() % 256));
        break;
    case 4:
        std::snprintf(text, sizeof text, "%x:db8:%x::%x", unsigned(random() % 0x10000), unsigned(random() % 8),
                      unsigned(random() % 0x10000));
        break;
    case 0:
        std::snprintf(text, sizeof text, "10.%u.%u.%u", unsigned(random() % 4), unsigned(random() % 256),
                      unsigned(random() % 256));
        break;
    case 1:
        std::snprintf(text, sizeof text, "2001:db8:%x::%x:%x", unsigned(random() % 4), unsigned(random() % 0x10000),
                      unsigned(random() % 0x10000));
        break;
    default:
        std::snprintf(text, sizeof text, "::ffff:10.%u.%u.%u", unsigned(random() % 4), unsigned(random() % 256),
                      unsigned(random() % 256));
    }
    return ip(text);
}

// Random rules anywhere in both spaces (as real lists spread), with the
// corner cases mixed in: whole spaces, the last addresses, hosts,
// IPv4-mapped rules.
inline RuleSet random_spread_rules(std::mt19937_64 &random, std::size_t count) {
    static const char *corners[] = {"0.0.0.0/0", "::/0", "255.255.255.255", "0.0.0.0", "::",
                                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:0.0.0.0/96",
                                    "::ffff:0:0/95", "::1", "127.0.0.0/8"};
    RuleSet set;
    char text[96];
    for (std::size_t i = 0; i < count; ++i) {
        Verdict verdict = random() % 3 == 0 ? deny : allow;
        std::uint64_t r = random(), r2 = random();
        switch (random() % 8) {
        case 0:
            add_rule(set, verdict, corners[r % (sizeof corners / sizeof corners[0])]);
            continue;
        case 1:
        case 2:
        case 3:
            std::snprintf(text, sizeof text, "%u.%u.%u.%u/%u", unsigned(r >> 24) & 255, unsigned(r >> 16) & 255,
                          unsigned(r >> 8) & 255, unsigned(r) & 255, unsigned(r2 % 33));
            break;
        case 4:
            std::snprintf(text, sizeof text, "::ffff:%u.%u.%u.%u/%u", unsigned(r >> 24) & 255, unsigned(r >> 16) & 255,
                          unsigned(r >> 8) & 255, unsigned(r) & 255, unsigned(96 + r2 % 33));
            break;
        default:
            std::snprintf(text, sizeof text, "%x:%x:%x:%x:%x::%x/%u", unsigned(r >> 48) & 0xffff,
                          unsigned(r >> 32) & 0xffff, unsigned(r >> 16) & 0xffff, unsigned(r) & 0xffff,
                          unsigned(r2 >> 48) & 0xffff, unsigned(r2 >> 32) & 0xffff, unsigned(r2 % 129));
        }
        add_rule(set, verdict, text);  // host bits set are cleared (with a warning, ignored here)
    }
    return set;
}

// An address at an edge of a random rule of the set: its first address, its
// last, or the ones just outside; addresses in ::ffff:0:0/96 as IPv4 (or,
// one time in four, in their IPv4-mapped form).
inline IpAddress edge_address(std::mt19937_64 &random, const RuleSet &set) {
    __extension__ typedef unsigned __int128 u128;
    const Rule &rule = set.rules[random() % set.rules.size()];
    u128 first = u128(rule.hi) << 64 | rule.lo;
    u128 host = rule.prefix_len == 0 ? ~u128(0) : (u128(1) << (128 - rule.prefix_len)) - 1;
    u128 candidates[] = {first - 1, first, first | host, (first | host) + 1};
    u128 value = candidates[random() % 4];
    IpAddress address{Family::ipv6, {}};
    for (int i = 0; i < 16; ++i) address.bytes[i] = static_cast<std::uint8_t>(value >> (120 - 8 * i));
    if ((value >> 32) == 0xffff && random() % 4 != 0) {
        address.family = Family::ipv4;
        std::copy(address.bytes.begin() + 12, address.bytes.end(), address.bytes.begin());
        std::fill(address.bytes.begin() + 4, address.bytes.end(), 0);
    }
    return address;
}

}  // namespace alf
