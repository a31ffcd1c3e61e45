#include "common/error.hpp"
#include "workbench/pcap_reader.hpp"

#include "temp_files.hpp"

#include <doctest/doctest.h>

using namespace alf;

namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(std::string &out, std::uint32_t v, bool big_endian = false) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>(v >> (big_endian ? 8 * (3 - i) : 8 * i));
}

void put16(std::string &out, std::uint16_t v, bool big_endian = false) {
    out += static_cast<char>(big_endian ? v >> 8 : v);
    out += static_cast<char>(big_endian ? v : v >> 8);
}

// A classic pcap file with one record per packet.
std::string classic_capture(std::uint32_t link_type, const std::vector<Bytes> &packets, bool big_endian = false,
                            std::uint32_t magic = 0xa1b2c3d4) {
    std::string data;
    put32(data, magic, big_endian);
    put16(data, 2, big_endian);
    put16(data, 4, big_endian);
    put32(data, 0, big_endian);
    put32(data, 0, big_endian);
    put32(data, 65535, big_endian);
    put32(data, link_type, big_endian);
    for (const auto &p : packets) {
        put32(data, 1, big_endian);
        put32(data, 0, big_endian);
        put32(data, static_cast<std::uint32_t>(p.size()), big_endian);
        put32(data, static_cast<std::uint32_t>(p.size()), big_endian);
        data.append(p.begin(), p.end());
    }
    return data;
}

TempFile write_capture(std::uint32_t link_type, const std::vector<Bytes> &packets) {
    return TempFile(classic_capture(link_type, packets), "capture.pcap");
}

// pcapng blocks: type, length, body padded to 4 bytes, length again.
struct Pcapng {
    bool big_endian = false;
    std::string data;

    void block(std::uint32_t type, const std::string &body) {
        std::string padded = body;
        padded.resize((body.size() + 3) / 4 * 4, '\0');
        put32(data, type, big_endian);
        put32(data, static_cast<std::uint32_t>(padded.size() + 12), big_endian);
        data += padded;
        put32(data, static_cast<std::uint32_t>(padded.size() + 12), big_endian);
    }
    void section() {
        std::string body;
        put32(body, 0x1a2b3c4d, big_endian);
        put16(body, 1, big_endian);
        put16(body, 0, big_endian);
        put32(body, 0xffffffff, big_endian);  // section length unknown
        put32(body, 0xffffffff, big_endian);
        block(0x0a0d0d0a, body);
    }
    void interface(std::uint16_t link_type, std::uint32_t snapshot_length = 0) {
        std::string body;
        put16(body, link_type, big_endian);
        put16(body, 0, big_endian);
        put32(body, snapshot_length, big_endian);
        block(1, body);
    }
    void enhanced_packet(std::uint32_t interface, const Bytes &packet) {
        std::string body;
        put32(body, interface, big_endian);
        put32(body, 0, big_endian);
        put32(body, 0, big_endian);
        put32(body, static_cast<std::uint32_t>(packet.size()), big_endian);
        put32(body, static_cast<std::uint32_t>(packet.size()), big_endian);
        body.append(packet.begin(), packet.end());
        block(6, body);
    }
    void simple_packet(const Bytes &packet) {
        std::string body;
        put32(body, static_cast<std::uint32_t>(packet.size()), big_endian);
        body.append(packet.begin(), packet.end());
        block(3, body);
    }
};

const Bytes ipv4_header = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};

// The frame a network-layer packet becomes: zero addresses, its ethertype.
Bytes with_zero_ethernet(const Bytes &packet) {
    Bytes frame(14, 0);
    frame[12] = (packet[0] >> 4) == 6 ? 0x86 : 0x08;
    frame[13] = (packet[0] >> 4) == 6 ? 0xdd : 0x00;
    frame.insert(frame.end(), packet.begin(), packet.end());
    return frame;
}

}  // namespace

TEST_CASE("captures of several link types become Ethernet frames") {
    Bytes ethernet = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00};
    ethernet.insert(ethernet.end(), ipv4_header.begin(), ipv4_header.end());
    TempFile capture = write_capture(1, {ethernet});
    auto frames = read_capture_frames(capture.path());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].size() == 14 + 20);  // the VLAN tag is gone
    CHECK(frames[0][12] == 0x08);
    CHECK(frames[0][14] == 0x45);

    Bytes ipv6 = {0x60, 0, 0, 0, 0, 0, 17, 64};
    ipv6.resize(40, 0);
    capture = write_capture(101, {ipv4_header, ipv6});  // LINKTYPE_RAW
    frames = read_capture_frames(capture.path());
    REQUIRE(frames.size() == 2);
    CHECK(frames[0][12] == 0x08);
    CHECK(frames[0][13] == 0x00);
    CHECK(frames[1][12] == 0x86);
    CHECK(frames[1][13] == 0xdd);
    CHECK(frames[1].size() == 54);

    Bytes cooked(16, 0);
    cooked[14] = 0x08;
    cooked.insert(cooked.end(), ipv4_header.begin(), ipv4_header.end());
    capture = write_capture(113, {cooked});  // Linux cooked
    frames = read_capture_frames(capture.path());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].size() == 34);
    CHECK(frames[0][14] == 0x45);
}

TEST_CASE("unreadable captures name the file") {
    CHECK_THROWS_AS(read_capture_frames("/nonexistent/x.pcap"), Error);
    TempFile capture = write_capture(147, {{1, 2, 3}});  // a user link type
    CHECK_THROWS_WITH_AS(read_capture_frames(capture.path()), doctest::Contains("not supported"), Error);
}

namespace {

Bytes ethernet_ipv4() {
    Bytes frame = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00};
    frame.insert(frame.end(), ipv4_header.begin(), ipv4_header.end());
    return frame;
}

std::vector<Bytes> read_text(const std::string &data, const std::string &name = "capture.pcapng") {
    TempFile capture(data, name);
    return read_capture_frames(capture.path());
}

}  // namespace

TEST_CASE("classic pcap in either byte order, with microsecond or nanosecond timestamps") {
    for (bool big_endian : {false, true}) {
        for (std::uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
            CAPTURE(big_endian);
            CAPTURE(magic);
            auto frames = read_text(classic_capture(101, {ipv4_header, ipv4_header}, big_endian, magic), "x.pcap");
            REQUIRE(frames.size() == 2);
            CHECK(frames[1].size() == 34);
            CHECK(frames[1][12] == 0x08);
            CHECK(frames[1][14] == 0x45);
        }
    }
}

TEST_CASE("pcapng: each interface's link type, enhanced and simple packets, unknown blocks skipped") {
    for (bool big_endian : {false, true}) {
        CAPTURE(big_endian);
        Pcapng file{big_endian};
        file.section();
        file.interface(1);
        file.block(5, std::string(16, 'x'));  // statistics: skipped
        file.interface(101);
        file.enhanced_packet(1, ipv4_header);
        file.enhanced_packet(0, ethernet_ipv4());
        file.block(0x40000bad, "custom");  // unknown and padded: skipped
        file.simple_packet(ethernet_ipv4());
        auto frames = read_text(file.data);
        REQUIRE(frames.size() == 3);
        CHECK(frames[0] == with_zero_ethernet(ipv4_header));
        CHECK(frames[1] == ethernet_ipv4());
        CHECK(frames[2] == ethernet_ipv4());
    }
}

TEST_CASE("pcapng: every section has its own byte order and interfaces") {
    Pcapng first{false};
    first.section();
    first.interface(1);
    first.enhanced_packet(0, ethernet_ipv4());
    Pcapng second{true};
    second.section();
    second.interface(228);  // IPv4
    second.enhanced_packet(0, ipv4_header);
    second.simple_packet(ipv4_header);
    auto frames = read_text(first.data + second.data);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0] == ethernet_ipv4());
    CHECK(frames[1] == with_zero_ethernet(ipv4_header));
    CHECK(frames[2] == with_zero_ethernet(ipv4_header));
}

TEST_CASE("pcapng: a simple packet is cut to its interface's snapshot length") {
    Pcapng file;
    file.section();
    file.interface(101, 10);
    file.simple_packet(ipv4_header);
    auto frames = read_text(file.data);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].size() == 14 + 10);
}

TEST_CASE("raw IP under each number writers use, cooked and loopback captures") {
    for (std::uint32_t link : {12u, 14u, 101u, 228u, 229u}) {
        CAPTURE(link);
        auto frames = read_text(classic_capture(link, {ipv4_header}), "x.pcap");
        REQUIRE(frames.size() == 1);
        CHECK(frames[0] == with_zero_ethernet(ipv4_header));
    }
    Bytes cooked2(20, 0);
    cooked2[0] = 0x08;
    cooked2.insert(cooked2.end(), ipv4_header.begin(), ipv4_header.end());
    Bytes loopback = {2, 0, 0, 0};
    loopback.insert(loopback.end(), ipv4_header.begin(), ipv4_header.end());
    for (const auto &capture : {std::pair{276u, cooked2}, std::pair{0u, loopback}, std::pair{108u, loopback}}) {
        CAPTURE(capture.first);
        auto frames = read_text(classic_capture(capture.first, {capture.second}), "x.pcap");
        REQUIRE(frames.size() == 1);
        CHECK(frames[0] == with_zero_ethernet(ipv4_header));
    }
    CHECK_THROWS_WITH_AS(read_text(classic_capture(276, {Bytes(19, 0)}), "x.pcap"),
                         doctest::Contains("packet 1: a Linux cooked packet shorter than its header"), Error);
}

TEST_CASE("broken captures are refused with what is wrong and where") {
    auto refused = [](const std::string &data, const std::string &problem) {
        TempFile capture(data, "broken.pcap");
        CAPTURE(problem);
        try {
            read_capture_frames(capture.path());
            FAIL("no error");
        } catch (const Error &e) {
            const std::string message = e.what();
            CHECK(message.starts_with("capture " + capture.path() + ": "));
            CHECK(message.find(problem) != std::string::npos);
        }
    };
    refused("", "the file is empty");
    refused("GIF89a and more", "not a pcap or pcapng file (it starts with 0x47494638)");
    refused(classic_capture(1, {}).substr(0, 20), "the file ends within the pcap file header");

    std::string two = classic_capture(101, {ipv4_header, ipv4_header});
    refused(two.substr(0, two.size() - 26), "packet 2 at byte 60: the file ends within its record header (10 of 16");
    refused(two.substr(0, two.size() - 1),
            "packet 2 at byte 60: its captured length 20 runs past the end of the file (19 bytes left)");
    std::string huge = classic_capture(101, {ipv4_header});
    huge[32] = huge[33] = huge[34] = huge[35] = '\xff';  // captured length 4 GiB - 1
    refused(huge, "packet 1 at byte 24: its captured length 4294967295 runs past the end of the file");

    Pcapng file;
    file.section();
    file.interface(1);
    const std::size_t block = file.data.size();
    file.enhanced_packet(0, ethernet_ipv4());
    auto with_length = [&](std::uint32_t length) {
        std::string data = file.data;
        std::string field;
        put32(field, length);
        data.replace(block + 4, 4, field);
        return data;
    };
    refused(with_length(50), "block at byte " + std::to_string(block) + ": its length 50 is not a multiple of 4");
    refused(with_length(8), "its length 8 is less than the 12 bytes every block has");
    refused(with_length(0xfffffffc), "its length 4294967292 runs past the end of the file");
    refused(file.data.substr(0, file.data.size() - 4), "runs past the end of the file");
    refused(file.data + std::string("\x06\x00\x00", 3), "the file ends within its header (3 bytes left)");

    std::string mismatched = file.data;
    mismatched[mismatched.size() - 4] ^= 4;
    refused(mismatched, "differs from its leading length");

    Pcapng no_interface;
    no_interface.section();
    no_interface.enhanced_packet(0, ipv4_header);
    refused(no_interface.data, "it names interface 0 but no interface is described before it");
    Pcapng wrong_interface;
    wrong_interface.section();
    wrong_interface.interface(1);
    wrong_interface.enhanced_packet(3, ipv4_header);
    refused(wrong_interface.data, "it names interface 3 but only 1 are described before it");

    Pcapng short_body;
    short_body.section();
    short_body.interface(1);
    short_body.block(6, std::string(16, '\0'));
    refused(short_body.data, "its body of 16 bytes is shorter than the 20 its fixed fields need");

    Pcapng bad_order;
    bad_order.section();
    bad_order.data[8] = 0x12;
    refused(bad_order.data, "byte-order magic");

    Pcapng overlong;
    overlong.section();
    overlong.interface(1);
    std::string body;
    for (std::uint32_t field : {0u, 0u, 0u, 1000u, 1000u}) put32(body, field);
    overlong.block(6, body + "abcd");
    refused(overlong.data, "its captured length 1000 runs past the end of its block (4 bytes)");
}
