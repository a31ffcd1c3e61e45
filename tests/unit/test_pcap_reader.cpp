#include "common/error.hpp"
#include "workbench/pcap_reader.hpp"

#include "temp_files.hpp"

#include <doctest/doctest.h>

using namespace alf;

namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(std::string &out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>(v >> (8 * i));
}

// A classic little-endian pcap file with one record per packet.
TempFile write_capture(std::uint32_t link_type, const std::vector<Bytes> &packets) {
    std::string data;
    put32(data, 0xa1b2c3d4);
    data += std::string("\x02\x00\x04\x00", 4);
    put32(data, 0);
    put32(data, 0);
    put32(data, 65535);
    put32(data, link_type);
    for (const auto &p : packets) {
        put32(data, 1);
        put32(data, 0);
        put32(data, static_cast<std::uint32_t>(p.size()));
        put32(data, static_cast<std::uint32_t>(p.size()));
        data.append(p.begin(), p.end());
    }
    return TempFile(data, "capture.pcap");
}

const Bytes ipv4_header = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};

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
