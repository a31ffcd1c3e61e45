#include "workbench/test_packet.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <algorithm>
#include <cstdio>

namespace alf {

namespace {

constexpr std::uint8_t ip_protocol_tcp = 6;
constexpr std::uint8_t ip_protocol_udp = 17;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
constexpr std::size_t ethernet_header = 14;

struct TcpFlag {
    const char *name;
    std::uint8_t bit;
};
constexpr TcpFlag tcp_flags[] = {{"fin", 0x01}, {"syn", 0x02}, {"rst", 0x04}, {"psh", 0x08},
                                 {"ack", 0x10}, {"urg", 0x20}, {"ece", 0x40}, {"cwr", 0x80}};

struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;
};

Endpoint parse_endpoint(std::string_view text, const char *which) {
    const std::string usage = std::string(which) + " '" + std::string(text) +
                              "': expected ADDRESS:PORT, e.g. 192.0.2.7:40000 or [2001:db8::1]:53000";
    Endpoint endpoint;
    std::string_view address, port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') throw Error(usage);
        address = text.substr(1, close - 1);
        port = text.substr(close + 2);
        auto ip = parse_ipv6(address);
        if (!ip) throw Error(usage + "; '" + std::string(address) + "' is not an IPv6 address");
        endpoint.address = *ip;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw Error(usage);
        address = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (address.find(':') != std::string_view::npos)
            throw Error(usage + "; put an IPv6 address in brackets: [" + std::string(address) + "]:" + std::string(port));
        auto ip = parse_ipv4(address);
        if (!ip) throw Error(usage + "; '" + std::string(address) + "' is not an IPv4 address");
        endpoint.address = *ip;
    }
    endpoint.port = static_cast<std::uint16_t>(parse_unsigned(port, 65535, std::string(which) + " port"));
    return endpoint;
}

bool is_unspecified(const IpAddress &address) {
    return std::all_of(address.bytes.begin(), address.bytes.begin() + static_cast<long>(address.size()),
                       [](std::uint8_t b) { return b == 0; });
}

bool is_v4_mapped(const IpAddress &address) {
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return address.family == Family::ipv6 && std::equal(prefix, prefix + 12, address.bytes.begin());
}

// The destination in the packet's family (see the header comment).
IpAddress destination_in(Family family, const IpAddress &destination) {
    if (destination.family == family) return destination;
    IpAddress result;
    result.family = family;
    if (is_unspecified(destination)) return result;
    if (family == Family::ipv4 && is_v4_mapped(destination)) {
        std::copy(destination.bytes.begin() + 12, destination.bytes.begin() + 16, result.bytes.begin());
        return result;
    }
    if (family == Family::ipv6)
        throw Error("an IPv6 packet cannot go to the IPv4 address " + format_ip(destination) +
                    "; write the destination as [::ffff:" + format_ip(destination) + "] or [::]");
    throw Error("an IPv4 packet cannot go to the IPv6 address " + format_ip(destination) +
                "; write it as an IPv4 address, or as 0.0.0.0 for any");
}

std::string format_endpoint(const IpAddress &address, std::uint16_t port) {
    return address.family == Family::ipv6 ? "[" + format_ip(address) + "]:" + std::to_string(port)
                                          : format_ip(address) + ":" + std::to_string(port);
}

std::string format_tcp_flags(std::uint8_t flags) {
    std::string text;
    for (const auto &flag : tcp_flags)
        if (flags & flag.bit) text += (text.empty() ? "" : ",") + std::string(flag.name);
    return text.empty() ? "none" : text;
}

std::vector<std::uint8_t> parse_hex(std::string_view text) {
    if (text.size() % 2) throw Error("data=" + std::string(text) + ": expected an even number of hex digits");
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < text.size(); i += 2)
        bytes.push_back(static_cast<std::uint8_t>(parse_unsigned("0x" + std::string(text.substr(i, 2)), 255, "data")));
    return bytes;
}

void put16(std::vector<std::uint8_t> &out, std::size_t at, std::uint16_t value) {
    out[at] = static_cast<std::uint8_t>(value >> 8);
    out[at + 1] = static_cast<std::uint8_t>(value);
}

std::uint16_t get16(const std::vector<std::uint8_t> &in, std::size_t at) {
    return static_cast<std::uint16_t>(in[at] << 8 | in[at + 1]);
}

// The Internet checksum (RFC 1071) of bytes, starting from `sum`.
std::uint16_t internet_checksum(const std::uint8_t *bytes, std::size_t size, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < size; i += 2) sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (size % 2) sum += static_cast<std::uint32_t>(bytes[size - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

struct PacketSpec {
    std::uint8_t protocol = 0;
    Endpoint source, destination;
    std::uint8_t tcp_flags = 0;
    std::vector<std::uint8_t> payload;
};

std::vector<std::uint8_t> build_frame(const PacketSpec &spec) {
    const bool ipv4 = spec.source.address.family == Family::ipv4;
    const std::size_t ip_header = ipv4 ? 20 : 40;
    const std::size_t transport_header = spec.protocol == ip_protocol_tcp ? 20 : 8;
    const std::size_t transport_size = transport_header + spec.payload.size();
    if (transport_size > 65535 - ip_header) throw Error("the payload is too long for one IP packet");
    std::vector<std::uint8_t> frame(ethernet_header + ip_header + transport_size, 0);

    // Ethernet: zero addresses, like the loopback device's, so the kernel
    // takes it as addressed to this host.
    put16(frame, 12, ipv4 ? ethertype_ipv4 : ethertype_ipv6);

    const std::size_t ip = ethernet_header;
    const std::size_t l4 = ip + ip_header;
    const std::size_t address_size = spec.source.address.size();
    std::copy_n(spec.source.address.bytes.begin(), address_size, frame.begin() + static_cast<long>(ip + (ipv4 ? 12 : 8)));
    std::copy_n(spec.destination.address.bytes.begin(), address_size,
                frame.begin() + static_cast<long>(ip + (ipv4 ? 16 : 24)));
    if (ipv4) {
        frame[ip] = 0x45;
        put16(frame, ip + 2, static_cast<std::uint16_t>(ip_header + transport_size));
        put16(frame, ip + 6, 0x4000);  // don't fragment
        frame[ip + 8] = 64;
        frame[ip + 9] = spec.protocol;
        put16(frame, ip + 10, internet_checksum(&frame[ip], ip_header));
    } else {
        frame[ip] = 0x60;
        put16(frame, ip + 4, static_cast<std::uint16_t>(transport_size));
        frame[ip + 6] = spec.protocol;
        frame[ip + 7] = 64;
    }

    put16(frame, l4, spec.source.port);
    put16(frame, l4 + 2, spec.destination.port);
    if (spec.protocol == ip_protocol_tcp) {
        put16(frame, l4 + 6, 1);                                  // sequence number 1
        if (spec.tcp_flags & 0x10) put16(frame, l4 + 10, 1);      // acknowledging 1
        frame[l4 + 12] = 5 << 4;                                  // 20-byte header
        frame[l4 + 13] = spec.tcp_flags;
        put16(frame, l4 + 14, 65535);                             // window
    } else {
        put16(frame, l4 + 4, static_cast<std::uint16_t>(transport_size));
    }
    std::copy(spec.payload.begin(), spec.payload.end(), frame.begin() + static_cast<long>(l4 + transport_header));

    // Checksum over the pseudo-header (addresses, protocol, length) and the segment.
    std::vector<std::uint8_t> pseudo;
    pseudo.insert(pseudo.end(), frame.begin() + static_cast<long>(ip + (ipv4 ? 12 : 8)),
                  frame.begin() + static_cast<long>(ip + (ipv4 ? 20 : 40)));
    pseudo.insert(pseudo.end(), {0, 0, static_cast<std::uint8_t>(transport_size >> 8),
                                 static_cast<std::uint8_t>(transport_size), 0, spec.protocol});
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < pseudo.size(); i += 2) sum += static_cast<std::uint32_t>(pseudo[i] << 8 | pseudo[i + 1]);
    std::uint16_t checksum = internet_checksum(&frame[l4], transport_size, sum);
    if (spec.protocol == ip_protocol_udp && checksum == 0) checksum = 0xffff;
    put16(frame, l4 + (spec.protocol == ip_protocol_tcp ? 16 : 6), checksum);
    return frame;
}

bool is_protocol_word(std::string_view word) { return word == "tcp" || word == "udp"; }

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto start = text.find_first_not_of(" \t\n", pos);
        if (start == std::string_view::npos) break;
        auto end = text.find_first_of(" \t\n", start);
        words.emplace_back(text.substr(start, end - start));
        pos = end == std::string_view::npos ? text.size() : end;
    }
    return words;
}

}  // namespace

PacketVerdict parse_verdict(std::string_view text) {
    if (text == "pass") return PacketVerdict::pass;
    if (text == "drop") return PacketVerdict::drop;
    throw Error("'" + std::string(text) + "' is not a verdict: expected pass or drop");
}

const char *verdict_name(PacketVerdict verdict) { return verdict == PacketVerdict::pass ? "pass" : "drop"; }

TestPacket parse_test_packet(const std::vector<std::string> &words) {
    std::string text = join(words, " ");
    return with_context("packet '" + text + "'", [&] {
        if (words.size() < 4 || !is_protocol_word(words[0]) || words[2] != ">")
            throw Error("expected PROTOCOL SOURCE > DESTINATION [FLAGS] [len=N], e.g. "
                        "tcp 192.0.2.7:40000 > [::]:4242 syn (quote the '>' for the shell)");
        PacketSpec spec;
        spec.protocol = words[0] == "tcp" ? ip_protocol_tcp : ip_protocol_udp;
        spec.source = parse_endpoint(words[1], "source");
        spec.destination = parse_endpoint(words[3], "destination");
        spec.destination.address = destination_in(spec.source.address.family, spec.destination.address);
        TestPacket packet;
        bool flags_given = false;
        for (std::size_t i = 4; i < words.size(); ++i) {
            std::string_view word = words[i];
            if (word.starts_with("len=")) {
                spec.payload.assign(parse_unsigned(word.substr(4), 65000, "len"), 0);
            } else if (word.starts_with("data=")) {
                spec.payload = parse_hex(word.substr(5));
            } else if (word.starts_with("expect=")) {
                packet.expect = parse_verdict(word.substr(7));
            } else {
                if (spec.protocol != ip_protocol_tcp)
                    throw Error("'" + std::string(word) + "': UDP packets take only len=, data= and expect=");
                for (std::size_t pos = 0; pos <= word.size();) {
                    auto end = word.find_first_of(",+", pos);
                    std::string_view name = word.substr(pos, end - pos);
                    auto flag = std::find_if(std::begin(tcp_flags), std::end(tcp_flags),
                                             [&](const TcpFlag &f) { return name == f.name; });
                    if (flag == std::end(tcp_flags))
                        throw Error("'" + std::string(name) +
                                    "' is not a TCP flag (syn ack fin rst psh urg ece cwr) nor len=, data=, expect=");
                    spec.tcp_flags |= flag->bit;
                    flags_given = true;
                    pos = end == std::string_view::npos ? word.size() + 1 : end + 1;
                }
            }
        }
        if (spec.protocol == ip_protocol_tcp && !flags_given) spec.tcp_flags = 0x02;
        packet.frame = build_frame(spec);
        packet.description = describe_frame(packet.frame);
        return packet;
    });
}

std::vector<TestPacket> parse_test_packets(const std::vector<std::string> &arguments) {
    std::vector<std::vector<std::string>> groups;
    for (const auto &argument : arguments)
        for (auto &word : split_words(argument)) {
            if (groups.empty() || is_protocol_word(word)) groups.emplace_back();
            groups.back().push_back(std::move(word));
        }
    std::vector<TestPacket> packets;
    for (const auto &group : groups) packets.push_back(parse_test_packet(group));
    return packets;
}

std::string describe_frame(const std::vector<std::uint8_t> &frame) {
    const std::string size = std::to_string(frame.size()) + " bytes";
    if (frame.size() < ethernet_header) return "a frame of " + size;
    const std::uint16_t ethertype = get16(frame, 12);
    const std::size_t ip = ethernet_header;
    IpAddress source, destination;
    std::uint8_t protocol;
    std::size_t l4, end;
    if (ethertype == ethertype_ipv4 && frame.size() >= ip + 20 && (frame[ip] >> 4) == 4) {
        source.family = destination.family = Family::ipv4;
        std::copy_n(&frame[ip + 12], 4, source.bytes.begin());
        std::copy_n(&frame[ip + 16], 4, destination.bytes.begin());
        protocol = frame[ip + 9];
        l4 = ip + static_cast<std::size_t>(frame[ip] & 0x0f) * 4;
        end = std::min(frame.size(), ip + get16(frame, ip + 2));
        if ((get16(frame, ip + 6) & 0x1fff) != 0) return "an IPv4 fragment, " + size;
    } else if (ethertype == ethertype_ipv6 && frame.size() >= ip + 40 && (frame[ip] >> 4) == 6) {
        source.family = destination.family = Family::ipv6;
        std::copy_n(&frame[ip + 8], 16, source.bytes.begin());
        std::copy_n(&frame[ip + 24], 16, destination.bytes.begin());
        protocol = frame[ip + 6];
        l4 = ip + 40;
        end = std::min(frame.size(), l4 + get16(frame, ip + 4));
    } else {
        return "a frame of ethertype 0x" + [&] {
            char hex[8];
            std::snprintf(hex, sizeof hex, "%04x", ethertype);
            return std::string(hex);
        }() + ", " + size;
    }
    const char *family = source.family == Family::ipv4 ? "IPv4" : "IPv6";
    if ((protocol != ip_protocol_tcp && protocol != ip_protocol_udp) || end < l4 + 8)
        return std::string("an ") + family + " packet of protocol " + std::to_string(protocol) + ", " + size;
    std::string text = std::string(protocol == ip_protocol_tcp ? "tcp " : "udp ") +
                       format_endpoint(source, get16(frame, l4)) + " > " + format_endpoint(destination, get16(frame, l4 + 2));
    std::size_t payload = 0;
    if (protocol == ip_protocol_tcp) {
        if (end < l4 + 20) return std::string("a truncated ") + family + " TCP packet, " + size;
        std::size_t header = static_cast<std::size_t>(frame[l4 + 12] >> 4) * 4;
        text += " " + format_tcp_flags(frame[l4 + 13]);
        payload = end > l4 + header ? end - l4 - header : 0;
    } else {
        payload = end - l4 - 8;
    }
    if (payload) text += " len=" + std::to_string(payload);
    return text;
}

}  // namespace alf
