// The drop log's events of packets a filter did not parse: alfctl log reads
// their headers as the filters' parse of <alfwrapper/packet.h> would.
#include "live/traffic.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace alf;

namespace {

using Bytes = std::vector<std::uint8_t>;

// An IPv4 header that says it is `header_words` 32-bit words long (20
// bytes at least are there), then a transport header whose ports are 40000
// and 4242.
Bytes ipv4(std::uint8_t protocol, unsigned header_words = 5, std::uint16_t fragment = 0) {
    Bytes b(std::max(header_words, 5U) * 4, 0);
    b[0] = static_cast<std::uint8_t>(0x40 | header_words);
    b[6] = static_cast<std::uint8_t>(fragment >> 8);
    b[7] = static_cast<std::uint8_t>(fragment);
    b[9] = protocol;
    const std::uint8_t addresses[] = {198, 51, 100, 7, 127, 0, 0, 1};
    std::copy(addresses, addresses + 8, b.begin() + 12);
    b.insert(b.end(), {0x9c, 0x40, 0x10, 0x92, 0, 0, 0, 0});
    return b;
}

// An IPv6 header from 2001:db8::7 to ::1, extension headers of 8 bytes
// (each naming the next), then ports 40000 and 4242.
Bytes ipv6(std::vector<std::uint8_t> chain) {
    Bytes b(40, 0);
    b[0] = 0x60;
    b[6] = chain.front();
    b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[23] = 7;
    b[39] = 1;
    for (std::size_t i = 1; i < chain.size(); ++i) b.insert(b.end(), {chain[i], 0, 0, 0, 0, 0, 0, 0});
    b.insert(b.end(), {0x9c, 0x40, 0x10, 0x92, 0, 0, 0, 0});
    return b;
}

LogEvent decoded(const Bytes &bytes, std::size_t length, bool expect = true) {
    LogEvent event;
    CHECK(decode_logged_header(bytes.data(), length, event) == expect);
    return event;
}

}  // namespace

TEST_CASE("a logged IPv4 header: addresses, protocol, ports") {
    Bytes b = ipv4(6);
    LogEvent e = decoded(b, b.size());
    CHECK(e.family == 2);
    CHECK(e.protocol == 6);
    CHECK(e.saddr[0] == 198);
    CHECK(e.saddr[3] == 7);
    CHECK(e.daddr[0] == 127);
    CHECK(e.daddr[3] == 1);
    CHECK(e.sport == 40000);
    CHECK(e.dport == 4242);
    // Ports behind options; UDP, UDP-Lite and SCTP have them too.
    for (std::uint8_t protocol : {6, 17, 132, 136}) {
        Bytes with_options = ipv4(protocol, 15);
        e = decoded(with_options, with_options.size());
        CHECK(e.protocol == protocol);
        CHECK(e.sport == 40000);
        CHECK(e.dport == 4242);
    }
}

TEST_CASE("a logged IPv4 header without ports to read") {
    // The bytes end inside the ports: the addresses all the same.
    Bytes b = ipv4(17);
    LogEvent e = decoded(b, 23);
    CHECK(e.family == 2);
    CHECK(e.saddr[3] == 7);
    CHECK(e.sport == 0);
    CHECK(e.dport == 0);
    CHECK(decoded(b, 24).dport == 4242);
    // A fragment after the first has no transport header; the first has.
    Bytes later = ipv4(17, 5, 0x0010), first = ipv4(17, 5, 0x2000);
    CHECK(decoded(later, later.size()).sport == 0);
    CHECK(decoded(first, first.size()).sport == 40000);
    // A protocol without ports (ICMP) keeps none.
    Bytes icmp = ipv4(1);
    e = decoded(icmp, icmp.size());
    CHECK(e.protocol == 1);
    CHECK(e.sport == 0);
}

TEST_CASE("a logged IPv6 header, through the extension headers the parse skips") {
    Bytes plain = ipv6({6});
    LogEvent e = decoded(plain, plain.size());
    CHECK(e.family == 10);
    CHECK(e.protocol == 6);
    CHECK(e.saddr[0] == 0x20);
    CHECK(e.saddr[15] == 7);
    CHECK(e.daddr[15] == 1);
    CHECK(e.sport == 40000);
    CHECK(e.dport == 4242);
    // Hop-by-hop, routing, destination options: skipped, up to four.
    Bytes chain = ipv6({0, 43, 60, 17});
    e = decoded(chain, chain.size());
    CHECK(e.protocol == 17);
    CHECK(e.dport == 4242);
    Bytes five = ipv6({0, 60, 60, 60, 60, 17});
    e = decoded(five, five.size());
    CHECK(e.protocol == 60);
    CHECK(e.sport == 0);
    // A fragment header is not skipped: protocol 44, no ports.
    Bytes fragment = ipv6({44, 17});
    e = decoded(fragment, fragment.size());
    CHECK(e.protocol == 44);
    CHECK(e.sport == 0);
    // Cut inside an extension header: addresses, no ports.
    e = decoded(chain, 41);
    CHECK(e.family == 10);
    CHECK(e.saddr[15] == 7);
    CHECK(e.sport == 0);
}

TEST_CASE("logged bytes that hold no IP header") {
    Bytes b = ipv4(6);
    LogEvent e = decoded(b, 19, false);
    CHECK(e.family == 0);
    decoded(b, 0, false);
    Bytes v6 = ipv6({6});
    decoded(v6, 39, false);
    Bytes short_header = ipv4(6, 4);  // a header length under 20 bytes
    decoded(short_header, short_header.size(), false);
    Bytes other = ipv4(6);
    other[0] = 0x55;
    decoded(other, other.size(), false);
}
