// Synthetic packets for BPF_PROG_TEST_RUN, written as a user thinks of them:
//
//     tcp 192.0.2.7:40000 > [::]:4242 syn
//     udp [2001:db8::1]:53000 > 0.0.0.0:53 len=512
//
// PROTOCOL SOURCE > DESTINATION, then TCP flags (syn ack fin rst psh urg ece
// cwr; "syn,ack" too; a TCP packet without flags is a SYN, the packet a
// listening socket's filter judges), len=N (payload bytes, zeros),
// data=HEX (the payload), expect=pass|drop. The packet's family is the
// source's; a wildcard destination (0.0.0.0, [::]), the address a socket
// listens on, stays a wildcard of that family.
//
// The bytes are an Ethernet frame: a test run of a socket filter strips 14
// bytes of Ethernet header, and the filter then sees the IP header as on a
// live socket (relative to the network header).
#pragma once

#include "common/net_address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

enum class PacketVerdict { pass, drop };

struct TestPacket {
    std::string description;           // canonical text: "tcp 192.0.2.7:40000 > 0.0.0.0:4242 syn"
    std::vector<std::uint8_t> frame;   // Ethernet frame
    std::optional<PacketVerdict> expect;     // expect=...
};

// Parses one packet from its words; throws Error naming the problem.
TestPacket parse_test_packet(const std::vector<std::string> &words);

// Splits words (several packets, or one argument holding a whole packet) at
// each protocol word ("tcp", "udp") and parses every packet.
std::vector<TestPacket> parse_test_packets(const std::vector<std::string> &arguments);

// "pass" / "drop" -> PacketVerdict; throws Error.
PacketVerdict parse_verdict(std::string_view text);
const char *verdict_name(PacketVerdict verdict);

// A description of an Ethernet frame in the packet syntax when it is TCP or
// UDP over IPv4/IPv6 ("tcp 192.0.2.7:40000 > 192.0.2.1:4242 syn,ack len=10"),
// else what it is ("IPv4 protocol 1, 84 bytes").
std::string describe_frame(const std::vector<std::uint8_t> &frame);

}  // namespace alf
