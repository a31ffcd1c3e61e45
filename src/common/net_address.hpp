// IP addresses, subnets and ports as users write them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace alf {

enum class Family { ipv4, ipv6 };

struct IpAddress {
    Family family = Family::ipv4;
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    std::size_t size() const { return family == Family::ipv4 ? 4 : 16; }
    unsigned max_prefix() const { return family == Family::ipv4 ? 32 : 128; }
    bool operator==(const IpAddress &) const = default;
};

struct Subnet {
    IpAddress address;          // host bits cleared
    unsigned prefix_len = 0;
    bool host_bits_cleared = false;  // the text had host bits set (e.g. 127.0.0.1/24)
};

// parse_ipv4 and parse_ipv6 without building an IpAddress, for the rules
// file's million lines: the address as one host-order word, or as eight
// groups; false where those give nullopt.
bool parse_ipv4_word(std::string_view text, std::uint32_t &address);
bool parse_ipv6_groups(std::string_view text, std::uint16_t groups[8]);

// nullopt when the text is not an address of that family.
std::optional<IpAddress> parse_ipv4(std::string_view text);
std::optional<IpAddress> parse_ipv6(std::string_view text);
std::optional<IpAddress> parse_ip(std::string_view text);

// "ADDR/LEN" or a bare address (a host). `family` restricts the accepted family.
// Throws Error naming what is wrong.
Subnet parse_subnet(std::string_view text, std::optional<Family> family = std::nullopt);

std::string format_ip(const IpAddress &address);
std::string format_subnet(const Subnet &subnet);

// Unsigned integer in decimal or 0x hex, at most `max`; throws Error.
std::uint64_t parse_unsigned(std::string_view text, std::uint64_t max, std::string_view what);
// Signed integer in decimal or 0x hex within [min, max]; throws Error.
std::int64_t parse_signed(std::string_view text, std::int64_t min, std::int64_t max, std::string_view what);

// A TCP/UDP port, 1..65535; throws Error.
std::uint16_t parse_port(std::string_view text);

}  // namespace alf
