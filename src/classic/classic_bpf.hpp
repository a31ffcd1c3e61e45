// Rule sets compiled to classic BPF, for callers without CAP_BPF: classic
// socket filters attach without privileges to datagram and Unix sockets.
//
// The input is the address space cut into segments, each with a verdict (the
// output of the rule compiler). The program reads the source address through
// the network-header offset (SKF_NET_OFF), so it works whatever the socket's
// data offset, and tests it with a balanced decision tree unrolled into
// instructions: the instruction count grows with the rules, the per-packet
// cost with their logarithm. IPv6 addresses are compared a 32-bit word at a
// time, descending to (and loading) the next word only where boundaries
// share a word. The family comes from the packet's protocol as the kernel
// keeps it (skb->protocol, the same the eBPF rules filter reads): packets
// that are neither IPv4 nor IPv6 are dropped, and an IPv4-mapped IPv6
// source (::ffff:a.b.c.d) is judged by the IPv4 segments.
#pragma once

#include <linux/filter.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace alf {

// A segment starts at `first` and runs to the next segment's start (or the
// end of the address space). Segments are sorted; the first starts at 0.
struct ClassicSegment4 {
    std::uint32_t first;  // host order
    bool allow;
};
struct ClassicSegment6 {
    std::array<std::uint32_t, 4> first;  // host-order words, most significant first
    bool allow;
};

struct ClassicProgram {
    std::vector<sock_filter> instructions;
};

// Throws Error when the program would exceed classic BPF's 4096 instructions,
// saying how many it needs.
ClassicProgram compile_classic(std::span<const ClassicSegment4> ipv4, std::span<const ClassicSegment6> ipv6);

// Runs a classic socket filter on a packet given from its network header on
// (the same bytes SKF_NET_OFF reads) whose protocol (skb->protocol, an
// EtherType in host order) is `protocol`; returns the kernel's verdict
// (bytes to keep, 0 = drop). A user-space interpreter: lets a rule set be
// checked without any privilege.
std::uint32_t run_classic(std::span<const sock_filter> program, std::span<const std::uint8_t> network_packet,
                          std::uint16_t protocol);

inline constexpr std::size_t classic_max_instructions = BPF_MAXINSNS;
inline constexpr std::uint16_t ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t ethertype_ipv6 = 0x86dd;

// What to do when rules do not fit: the end of the size error's message.
std::string classic_limit_advice();

}  // namespace alf
