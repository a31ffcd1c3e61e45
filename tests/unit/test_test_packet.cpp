#include "common/error.hpp"
#include "workbench/test_packet.hpp"

#include <doctest/doctest.h>

using namespace alf;

namespace {

std::uint16_t ones_complement_sum(const std::vector<std::uint8_t> &bytes, std::size_t from, std::size_t size) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < size; i += 2) sum += static_cast<std::uint32_t>(bytes[from + i] << 8 | bytes[from + i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

}  // namespace

TEST_CASE("packets as the issue writes them") {
    auto p = parse_test_packets({"tcp 192.0.2.7:40000 > [::]:4242 syn"});
    REQUIRE(p.size() == 1);
    CHECK(p[0].description == "tcp 192.0.2.7:40000 > 0.0.0.0:4242 syn");
    const auto &f = p[0].frame;
    REQUIRE(f.size() == 14 + 20 + 20);
    CHECK(f[12] == 0x08);
    CHECK(f[13] == 0x00);
    CHECK(f[14] == 0x45);
    CHECK(f[14 + 9] == 6);
    CHECK(ones_complement_sum(f, 14, 20) == 0xffff);  // a valid IPv4 header checksum
    CHECK(f[34 + 13] == 0x02);

    p = parse_test_packets({"udp [2001:db8::1]:53000 > 0.0.0.0:53 len=512"});
    CHECK(p[0].description == "udp [2001:db8::1]:53000 > [::]:53 len=512");
    CHECK(p[0].frame.size() == 14 + 40 + 8 + 512);
    CHECK(p[0].frame[12] == 0x86);
}

TEST_CASE("several packets in words, flags, payload, expectations") {
    auto p = parse_test_packets({"tcp", "10.0.0.1:1", ">", "10.0.0.2:2", "syn,ack", "udp", "[::1]:5", ">", "[::1]:6",
                                 "data=414243", "expect=drop"});
    REQUIRE(p.size() == 2);
    CHECK(p[0].description == "tcp 10.0.0.1:1 > 10.0.0.2:2 syn,ack");
    CHECK_FALSE(p[0].expect);
    CHECK(p[1].description == "udp [::1]:5 > [::1]:6 len=3");
    CHECK(p[1].expect == PacketVerdict::drop);
    CHECK(p[1].frame.back() == 'C');

    p = parse_test_packets({"tcp [::ffff:10.0.0.1]:7 > [::]:8 fin+psh+ack len=10"});
    CHECK(p[0].description == "tcp [::ffff:10.0.0.1]:7 > [::]:8 fin,psh,ack len=10");
    p = parse_test_packets({"tcp 10.0.0.1:7 > [::ffff:10.0.0.9]:8 rst"});
    CHECK(p[0].description == "tcp 10.0.0.1:7 > 10.0.0.9:8 rst");
}

TEST_CASE("malformed packets say what is wrong") {
    for (const char *bad : {"tcp 10.0.0.1:1 10.0.0.2:2", "icmp 10.0.0.1:1 > 10.0.0.2:2", "tcp 10.0.0.1 > 10.0.0.2:2",
                            "tcp ::1:5 > [::1]:6", "tcp 10.0.0.1:1 > 10.0.0.2:70000", "tcp 10.0.0.1:1 > 10.0.0.2:2 syn,fuzz",
                            "udp 10.0.0.1:1 > 10.0.0.2:2 syn", "tcp [2001:db8::1]:1 > 10.0.0.2:2",
                            "tcp 10.0.0.1:1 > [2001:db8::1]:2", "udp 10.0.0.1:1 > 10.0.0.2:2 data=abc",
                            "udp 10.0.0.1:1 > 10.0.0.2:2 expect=maybe"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_test_packets({bad}), Error);
    }
}

TEST_CASE("frames that are not TCP or UDP are described too") {
    CHECK(describe_frame(std::vector<std::uint8_t>(20, 0)).find("ethertype 0x0000") != std::string::npos);
    auto p = parse_test_packets({"udp 10.0.0.1:1 > 10.0.0.2:2"});
    auto frame = p[0].frame;
    frame[14 + 9] = 1;
    CHECK(describe_frame(frame) == "an IPv4 packet of protocol 1, 42 bytes");
}
