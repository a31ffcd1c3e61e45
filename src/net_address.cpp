#include "net_address.hpp"

#include "error.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <limits>

namespace alf {

namespace {

std::optional<IpAddress> parse_with(int af, std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    std::string copy(text);
    IpAddress address;
    address.family = af == AF_INET ? Family::ipv4 : Family::ipv6;
    if (inet_pton(af, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
    return address;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

std::optional<IpAddress> parse_ipv4(std::string_view text) { return parse_with(AF_INET, text); }
std::optional<IpAddress> parse_ipv6(std::string_view text) { return parse_with(AF_INET6, text); }

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
    for (unsigned bit = subnet.prefix_len; bit < address->max_prefix(); ++bit) {
        auto &byte = subnet.address.bytes[bit / 8];
        std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
        if (byte & mask) {
            subnet.host_bits_cleared = true;
            byte = static_cast<std::uint8_t>(byte & ~mask);
        }
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
    auto value = parse_unsigned(text, 65535, "a port (1-65535)");
    if (value == 0) throw Error("port 0 is not a valid port (expected 1-65535)");
    return static_cast<std::uint16_t>(value);
}

}  // namespace alf
