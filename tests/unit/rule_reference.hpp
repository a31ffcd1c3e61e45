// The rule semantics written plainly, and random rule sets and addresses to
// hold the rule compiler and its back ends against them.
#pragma once

#include "common/net_address.hpp"
#include "inputs/rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace alf {

// Rules as written: the text the product parses (parsed()) and the
// reference parses with code of its own (Reference), so that a mistake in the
// product's rule parser cannot hide in both.
struct WrittenRule {
    Verdict verdict;
    std::string cidr;
};

struct WrittenRules {
    std::vector<WrittenRule> rules;

    void add(Verdict verdict, const std::string &cidr) { rules.push_back({verdict, cidr}); }
    void append(const WrittenRules &other) { rules.insert(rules.end(), other.rules.begin(), other.rules.end()); }
    // The product's reading of the same text.
    RuleSet parsed() const {
        RuleSet set;
        for (const auto &r : rules) add_rule(set, r.verdict, r.cidr);
        return set;
    }
};

// The semantics written plainly, over addresses as 16 bytes (IPv4 as
// ::ffff:a.b.c.d): IPv4 rules (inside ::ffff:0:0/96) judge IPv4 peers only,
// IPv6 rules IPv6 peers only (a dual-stack socket sees IPv4 clients as IPv4,
// so ::/0 does not cover them); of the rules that cover an address, the longest decides;
// equal lengths with a deny deny; nothing covers: deny if any allow rule
// exists, else allow. Rules are read here with inet_pton, not the product's parser.
class Reference {
public:
    using Bytes = std::array<std::uint8_t, 16>;
    struct Prefix {
        Bytes network{};
        unsigned length = 0;
        bool deny = false;
        bool ipv4 = false;  // inside ::ffff:0:0/96
    };

    explicit Reference(const WrittenRules &written) {
        for (const auto &r : written.rules) {
            prefixes_.push_back(parse(r.cidr, r.verdict == Verdict::deny));
            any_allow_ |= r.verdict == Verdict::allow;
        }
    }

    Verdict decide(const IpAddress &address) const {
        int rule = deciding(address);
        if (rule >= 0) return prefixes_[static_cast<std::size_t>(rule)].deny ? Verdict::deny : Verdict::allow;
        return any_allow_ ? Verdict::deny : Verdict::allow;
    }

    // The written rule that decides for the address (of a tie, a deny), or
    // -1: none covers it.
    int deciding(const IpAddress &address) const {
        Bytes bytes = mapped(address);
        bool ipv4 = in_mapped_range(bytes, 128);
        int best = -1;
        for (std::size_t i = 0; i < prefixes_.size(); ++i) {
            const Prefix &p = prefixes_[i];
            if (p.ipv4 != ipv4 || !covers(p, bytes)) continue;
            const Prefix *b = best < 0 ? nullptr : &prefixes_[static_cast<std::size_t>(best)];
            if (!b || p.length > b->length || (p.length == b->length && p.deny && !b->deny))
                best = static_cast<int>(i);
        }
        return best;
    }

    const std::vector<Prefix> &prefixes() const { return prefixes_; }

    static Bytes mapped(const IpAddress &address) {
        Bytes bytes{};
        if (address.family == Family::ipv4) {
            bytes[10] = bytes[11] = 0xff;
            std::copy(address.bytes.begin(), address.bytes.begin() + 4, bytes.begin() + 12);
        } else {
            std::copy(address.bytes.begin(), address.bytes.end(), bytes.begin());
        }
        return bytes;
    }

private:
    static Prefix parse(const std::string &cidr, bool deny) {
        Prefix p;
        p.deny = deny;
        std::string address = cidr.substr(0, cidr.find('/'));
        bool v4 = address.find(':') == std::string::npos;
        if (v4) {
            std::uint8_t four[4];
            if (inet_pton(AF_INET, address.c_str(), four) != 1) throw std::runtime_error("reference: " + cidr);
            p.network[10] = p.network[11] = 0xff;
            std::copy(four, four + 4, p.network.begin() + 12);
        } else if (inet_pton(AF_INET6, address.c_str(), p.network.data()) != 1) {
            throw std::runtime_error("reference: " + cidr);
        }
        unsigned given = cidr.find('/') == std::string::npos ? (v4 ? 32u : 128u)
                                                             : static_cast<unsigned>(std::stoul(cidr.substr(cidr.find('/') + 1)));
        p.length = v4 ? 96 + given : given;
        for (unsigned bit = p.length; bit < 128; ++bit) p.network[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
        p.ipv4 = in_mapped_range(p.network, p.length);
        return p;
    }

    // Whether the first `length` bits lie inside ::ffff:0:0/96.
    static bool in_mapped_range(const Bytes &bytes, unsigned length) {
        if (length < 96) return false;
        for (int i = 0; i < 10; ++i)
            if (bytes[i]) return false;
        return bytes[10] == 0xff && bytes[11] == 0xff;
    }

    static bool covers(const Prefix &p, const Bytes &address) {
        for (unsigned bit = 0; bit < p.length; ++bit)
            if ((address[bit / 8] ^ p.network[bit / 8]) & (0x80u >> (bit % 8))) return false;
        return true;
    }

    std::vector<Prefix> prefixes_;
    bool any_allow_ = false;
};

inline IpAddress ip(const char *text) { return *parse_ip(text); }

inline RuleSet rules_of(std::initializer_list<std::pair<Verdict, const char *>> rules) {
    RuleSet set;
    for (auto [verdict, cidr] : rules) add_rule(set, verdict, cidr);
    return set;
}

inline constexpr Verdict allow = Verdict::allow, deny = Verdict::deny;

// Random rules in a small corner of each family, so they overlap a lot.
inline WrittenRules random_rules(std::mt19937_64 &random, std::size_t count) {
    WrittenRules set;
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
        set.add(verdict, text);
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
inline WrittenRules random_spread_rules(std::mt19937_64 &random, std::size_t count) {
    static const char *corners[] = {"0.0.0.0/0", "::/0", "255.255.255.255", "0.0.0.0", "::",
                                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:0.0.0.0/96",
                                    "::ffff:0:0/95", "::1", "127.0.0.0/8"};
    WrittenRules set;
    char text[96];
    for (std::size_t i = 0; i < count; ++i) {
        Verdict verdict = random() % 3 == 0 ? deny : allow;
        std::uint64_t r = random(), r2 = random();
        switch (random() % 8) {
        case 0:
            set.add(verdict, corners[r % (sizeof corners / sizeof corners[0])]);
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
        set.add(verdict, text);  // host bits set are cleared (with a warning, ignored here)
    }
    return set;
}

// An address at an edge of a random rule of the set: its first address, its
// last, or the ones just outside; addresses in ::ffff:0:0/96 as IPv4 (or,
// one time in four, in their IPv4-mapped form).
inline IpAddress edge_address(std::mt19937_64 &random, const Reference &reference) {
    __extension__ typedef unsigned __int128 u128;
    const Reference::Prefix &prefix = reference.prefixes()[random() % reference.prefixes().size()];
    u128 first = 0;
    for (auto byte : prefix.network) first = first << 8 | byte;
    u128 host = prefix.length == 0 ? ~u128(0) : (u128(1) << (128 - prefix.length)) - 1;
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
