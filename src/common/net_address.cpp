#include "common/net_address.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <limits>

namespace alf {

// Dotted quad, each part 0..255 without leading zeros, as inet_pton(AF_INET)
// reads it (hand-written: a rules file holds a million of them).
bool parse_ipv4_word(std::string_view text, std::uint32_t &address) {
    std::uint32_t value = 0;
    unsigned parts = 0, part = 0, digits = 0;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            if (digits == 1 && part == 0) return false;
            part = part * 10 + static_cast<unsigned>(c - '0');
            if (++digits > 3 || part > 255) return false;
        } else if (c == '.') {
            if (digits == 0 || ++parts > 3) return false;
            value = value << 8 | part;
            part = digits = 0;
        } else {
            return false;
        }
    }
    if (digits == 0 || parts != 3) return false;
    address = value << 8 | part;
    return true;
}

namespace {

// A table, not comparisons: in a file of random addresses the branches on
// digit or letter mispredict on most characters.
constexpr auto hex_values = [] {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    for (int i = 0; i < 10; ++i) values['0' + i] = static_cast<std::int8_t>(i);
    for (int i = 0; i < 6; ++i) values['a' + i] = values['A' + i] = static_cast<std::int8_t>(10 + i);
    return values;
}();

int hex_digit(char c) { return hex_values[static_cast<unsigned char>(c)]; }

}  // namespace

// Eight groups of 1-4 hex digits, "::" once for one or more zero groups,
// optionally ending in a dotted quad, as inet_pton(AF_INET6) reads it.
bool parse_ipv6_groups(std::string_view text, std::uint16_t groups[8]) {
    std::uint16_t head[8], tail[8];
    int heads = 0, tails = 0;
    bool gap = false;
    std::size_t i = 0, n = text.size();
    auto push = [&](std::uint16_t group) {
        if (heads + tails >= 8) return false;
        (gap ? tail[tails++] : head[heads++]) = group;
        return true;
    };
    if (n >= 2 && text[0] == ':' && text[1] == ':') {
        gap = true;
        i = 2;
    } else if (n == 0 || text[0] == ':') {
        return false;
    }
    while (i < n) {
        std::size_t j = i;
        unsigned value = 0;
        for (int digit; j < n && j - i < 5 && (digit = hex_digit(text[j])) >= 0; ++j)
            value = value << 4 | static_cast<unsigned>(digit);
        if (j < n && text[j] == '.') {  // a dotted quad ends the address
            std::uint32_t v4;
            if (!parse_ipv4_word(text.substr(i), v4) || !push(static_cast<std::uint16_t>(v4 >> 16)) ||
                !push(static_cast<std::uint16_t>(v4)))
                return false;
            break;
        }
        if (j == i || j - i > 4 || !push(static_cast<std::uint16_t>(value))) return false;
        if (j == n) break;
        if (text[j] != ':' || ++j == n) return false;
        if (text[j] == ':') {
            if (gap) return false;
            gap = true;
            ++j;
        }
        i = j;
    }
    if (gap ? heads + tails > 7 : heads != 8) return false;
    std::fill(groups, groups + 8, 0);
    std::copy(head, head + heads, groups);
    std::copy(tail, tail + tails, groups + 8 - tails);
    return true;
}

namespace {

std::string quoted(std::string_view text) { return "'" + quote_input(text) + "'"; }

}  // namespace

std::optional<IpAddress> parse_ipv4(std::string_view text) {
    std::uint32_t word;
    if (!parse_ipv4_word(text, word)) return std::nullopt;
    IpAddress address;
    for (int i = 0; i < 4; ++i) address.bytes[i] = static_cast<std::uint8_t>(word >> (24 - 8 * i));
    return address;
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
    std::uint16_t groups[8];
    if (!parse_ipv6_groups(text, groups)) return std::nullopt;
    IpAddress address;
    address.family = Family::ipv6;
    for (int i = 0; i < 8; ++i) {
        address.bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
        address.bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i]);
    }
    return address;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (auto v4 = parse_ipv4(text)) return v4;
    return parse_ipv6(text);
}

Subnet parse_subnet(std::string_view text, std::optional<Family> family) {
    const char *family_name = !family ? "IP" : *family == Family::ipv4 ? "IPv4" : "IPv6";
    auto slash = text.find('/');
    std::string_view addr_text = text.substr(0, slash);
    std::optional<IpAddress> address;
    if (!family || *family == Family::ipv4) address = parse_ipv4(addr_text);
    if (!address && (!family || *family == Family::ipv6)) address = parse_ipv6(addr_text);
    if (!address)
        throw Error(quoted(text) + ": " + quoted(addr_text) + " is not an " + family_name + " address");

    Subnet subnet;
    subnet.address = *address;
    subnet.prefix_len = address->max_prefix();
    if (slash != std::string_view::npos) {
        std::string_view len_text = text.substr(slash + 1);
        unsigned len = 0;
        auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
        if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size())
            throw Error(quoted(text) + ": prefix length " + quoted(len_text) + " is not a number");
        if (len > address->max_prefix())
            throw Error(quoted(text) + ": prefix length " + std::to_string(len) + " exceeds " +
                        std::to_string(address->max_prefix()) + " for an " +
                        (address->family == Family::ipv4 ? "IPv4" : "IPv6") + " address");
        subnet.prefix_len = len;
    }
    for (unsigned byte = subnet.prefix_len / 8; byte < address->size(); ++byte) {
        unsigned keep = byte == subnet.prefix_len / 8 ? subnet.prefix_len % 8 : 0;
        auto mask = static_cast<std::uint8_t>(0xff00u >> keep);
        if (subnet.address.bytes[byte] & ~mask) subnet.host_bits_cleared = true;
        subnet.address.bytes[byte] &= mask;
    }
    return subnet;
}

std::string format_ip(const IpAddress &address) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(address.family == Family::ipv4 ? AF_INET : AF_INET6, address.bytes.data(), buf, sizeof buf);
    return buf;
}

std::string format_subnet(const Subnet &subnet) {
    return format_ip(subnet.address) + "/" + std::to_string(subnet.prefix_len);
}

std::uint64_t parse_unsigned(std::string_view text, std::uint64_t max, std::string_view what) {
    std::string_view digits = text;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        digits.remove_prefix(2);
        base = 16;
    }
    if (!text.empty() && text[0] == '-')
        throw Error(quoted(text) + ": " + std::string(what) + " cannot be negative");
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
        end != digits.data() + digits.size())
        throw Error(quoted(text) + " is not a number (expected " + std::string(what) + ")");
    if (ec == std::errc::result_out_of_range || value > max)
        throw Error(quoted(text) + " is out of range for " + std::string(what) + " (at most " +
                    std::to_string(max) + ")");
    return value;
}

std::int64_t parse_signed(std::string_view text, std::int64_t min, std::int64_t max, std::string_view what) {
    bool negative = !text.empty() && text[0] == '-';
    std::string_view magnitude_text = negative ? text.substr(1) : text;
    if (!magnitude_text.empty() && magnitude_text[0] == '-')
        throw Error(quoted(text) + " is not a number (expected " + std::string(what) + ")");
    std::uint64_t magnitude = 0;
    try {
        magnitude = parse_unsigned(magnitude_text, std::numeric_limits<std::uint64_t>::max(), what);
    } catch (const Error &) {
        throw Error(quoted(text) + " is not a number (expected " + std::string(what) + ")");
    }
    std::string range = " is out of range for " + std::string(what) + " (" + std::to_string(min) +
                        ".." + std::to_string(max) + ")";
    if (negative) {
        if (magnitude == 0) return 0;
        if (min >= 0 || magnitude - 1 > static_cast<std::uint64_t>(-(min + 1)))
            throw Error(quoted(text) + range);
        return -static_cast<std::int64_t>(magnitude - 1) - 1;
    }
    if (magnitude > static_cast<std::uint64_t>(max)) throw Error(quoted(text) + range);
    return static_cast<std::int64_t>(magnitude);
}

std::uint16_t parse_port(std::string_view text) {
    // Ports are written in decimal everywhere (services, ss, systemd): "0x10" is a typo, not 16.
    if (text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        throw Error(quoted(text) + ": a port is written in decimal (1-65535)");
    auto value = parse_unsigned(text, 65535, "a port");
    if (value == 0) throw Error("port 0 is not a valid port (expected 1-65535)");
    return static_cast<std::uint16_t>(value);
}

}  // namespace alf
