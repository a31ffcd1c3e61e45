// The transport header read straight from the packet (alf_transport_skb of
// <alfwrapper/packet.h>, what the ports filter uses) in the kernel, on
// random packets built here: IPv4 with and without options, fragments,
// IPv6 with chains of extension headers, protocols with and without ports,
// packets cut short anywhere. What each packet holds is known from how it
// was built; the headers' parse (alf_packet_parse) must read the same
// ports. Both of the headers' codes (as root, and as a delegated
// alfwrapper loads them).
#include "bpf/filter_object.hpp"
#include "workbench/test_run.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace alf;

namespace {

// A filter that returns `returned` of the transport header read straight
// from the packet, 0 when it has no ports (a source port of 0: the packets
// built here have none such).
std::string transport_filter(const char *returned) {
    return std::string(R"(#include <alfwrapper/filter.h>
SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct alf_transport t;

	if (alf_transport_skb(skb, &t) < 0 || t.sport == 0)
		return 0;
	return (int)()") + returned + R"();
}
char LICENSE[] SEC("license") = "GPL";
)";
}

// The same number from the parse.
const char *parse_ports_filter = R"(#include <alfwrapper/filter.h>
SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct alf_packet p;

	if (alf_packet_parse(skb, &p) < 0)
		return 0;
	return (int)(((__u32)p.sport << 16) | p.dport);
}
char LICENSE[] SEC("license") = "GPL";
)";

bool has_ports(std::uint8_t protocol) { return protocol == 6 || protocol == 17 || protocol == 136 || protocol == 132; }

struct Built {
    std::vector<std::uint8_t> frame;
    bool ports = false;          // expected: the packet has ports, and the part of its header read
                                 // (TCP: 14 bytes, to the flags; else the 8 of UDP's header)
    std::uint8_t protocol = 0;   // when it has
    std::uint32_t port_word = 0; // source << 16 | destination
    std::string what;
};

void put16(std::vector<std::uint8_t> &b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}

Built build(std::mt19937_64 &random) {
    static const std::uint8_t protocols[] = {6, 17, 136, 132, 1, 58, 47};
    Built out;
    std::uint8_t protocol = protocols[random() % std::size(protocols)];
    std::uint16_t sport = static_cast<std::uint16_t>(1 + random() % 65535), dport = static_cast<std::uint16_t>(random());
    std::vector<std::uint8_t> ip;
    std::size_t l4 = 0;
    bool transport = true;  // the packet has a transport header of its own
    bool ipv4 = random() % 2 == 0;
    if (ipv4) {
        unsigned ihl = random() % 8 == 0 ? static_cast<unsigned>(random() % 5) : 5 + static_cast<unsigned>(random() % 11);
        ip.assign(std::max(ihl * 4, 20u), 0);  // a header length under 5 is wrong
        ip[0] = static_cast<std::uint8_t>(0x40 | ihl);
        ip[9] = protocol;
        unsigned fragment = static_cast<unsigned>(random() % 4);  // 0, 1: none; 2: first, more follow; 3: a later one
        if (fragment == 2) ip[6] = 0x20;
        if (fragment == 3) put16(ip, 6, static_cast<std::uint16_t>(random() % 8191 + 1) | (random() % 2 ? 0x2000 : 0));
        for (int i = 12; i < 20; ++i) ip[i] = static_cast<std::uint8_t>(random());
        transport = ihl >= 5 && fragment != 3;
        l4 = ip.size();
        out.what = "IPv4, header length " + std::to_string(ihl) + ", fragment " + std::to_string(fragment);
    } else {
        ip.assign(40, 0);
        ip[0] = 0x60;
        for (int i = 8; i < 40; ++i) ip[i] = static_cast<std::uint8_t>(random());
        // A chain of extension headers: the parse skips 4 of hop-by-hop,
        // routing and destination options; a fragment header ends it.
        static const std::uint8_t extensions[] = {0, 43, 60, 44};
        unsigned count = static_cast<unsigned>(random() % 6);
        std::size_t next_at = 6;
        out.what = "IPv6";
        for (unsigned i = 0; i < count; ++i) {
            std::uint8_t type = extensions[random() % std::size(extensions)];
            ip[next_at] = type;
            out.what += " " + std::to_string(type);
            if (type == 44 || i == 4) transport = false;  // not skipped: the protocol is the header's
            std::size_t length = type == 44 ? 8 : 8 * (1 + random() % 3);
            next_at = ip.size();
            ip.resize(ip.size() + length, 0);
            ip[next_at + 1] = static_cast<std::uint8_t>(length / 8 - 1);
        }
        ip[next_at] = protocol;
        l4 = ip.size();
    }
    // Mostly whole headers (TCP's is 20 bytes or more), some shorter.
    std::size_t transport_size = random() % 4 == 0 ? 4 + random() % 10 : 14 + random() % 10;
    ip.resize(ip.size() + transport_size, 0);
    put16(ip, l4, sport);
    put16(ip, l4 + 2, dport);
    if (random() % 4 == 0) {  // cut anywhere after the fixed IP header (a test run needs that much)
        std::size_t fixed = ipv4 ? 20 : 40;
        ip.resize(fixed + random() % (ip.size() - fixed + 1));
        out.what += ", cut to " + std::to_string(ip.size()) + " bytes";
    }
    out.what += ", protocol " + std::to_string(protocol);
    out.ports = transport && has_ports(protocol) && ip.size() >= l4 + (protocol == 6 ? 14 : 8);
    out.protocol = protocol;
    out.port_word = static_cast<std::uint32_t>(sport) << 16 | dport;
    out.frame.assign(14, 0);
    put16(out.frame, 12, ipv4 ? 0x0800 : 0x86dd);
    out.frame.insert(out.frame.end(), ip.begin(), ip.end());
    return out;
}

}  // namespace

TEST_CASE("the transport header read straight from the packet is the packet's, and the parse's (needs root)" * root_suite) {
    require_root("loading filters needs root (CAP_BPF)");
    auto parse = compile_test_filter(parse_ports_filter, "parse_ports.c");
    parse.load();
    for (bool guarded : {false, true}) {
        // Bit 31 and the protocol; the ports as one number, source port in the high half.
        auto protocol_of = compile_test_filter(transport_filter("0x80000000u | t.protocol").c_str(), "transport_protocol.c");
        auto ports_of =
            compile_test_filter(transport_filter("((__u32)t.sport << 16) | t.dport").c_str(), "transport_ports.c");
        protocol_of.assume_stack_stores_guarded(guarded);
        ports_of.assume_stack_stores_guarded(guarded);
        protocol_of.load();
        ports_of.load();

        std::mt19937_64 random(11);
        int with_ports = 0, without = 0;
        for (int i = 0; i < 800; ++i) {
            Built packet = build(random);
            INFO(packet.what << std::string(guarded ? " (guarded)" : ""));
            std::uint32_t protocol = test_run_filter(protocol_of.program_fd(), packet.frame).verdict;
            std::uint32_t ports = test_run_filter(ports_of.program_fd(), packet.frame).verdict;
            REQUIRE((protocol != 0) == packet.ports);
            if (packet.ports) {
                CHECK(protocol == (0x80000000u | packet.protocol));
                CHECK(ports == packet.port_word);
                CHECK(test_run_filter(parse.program_fd(), packet.frame).verdict == packet.port_word);
                ++with_ports;
            } else {
                CHECK(ports == 0);
                ++without;
            }
        }
        // Both kinds, many times.
        CHECK(with_ports > 150);
        CHECK(without > 150);
    }
}
