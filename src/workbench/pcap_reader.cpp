#include "workbench/pcap_reader.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <algorithm>
#include <cstring>
#include <span>

namespace alf {

namespace {

using Frames = std::vector<std::vector<std::uint8_t>>;
using Span = std::span<const std::uint8_t>;

// Classic pcap: the file header's magic, in the writer's byte order.
constexpr std::uint32_t pcap_magic_microseconds = 0xa1b2c3d4;
constexpr std::uint32_t pcap_magic_nanoseconds = 0xa1b23c4d;
constexpr std::size_t pcap_file_header_size = 24;
constexpr std::size_t pcap_record_header_size = 16;

// pcapng: the Section Header Block's type reads the same in both byte orders,
// so a reader finds it before it knows the section's byte order.
constexpr std::uint32_t pcapng_section_header = 0x0a0d0d0a;
constexpr std::uint32_t pcapng_byte_order_magic = 0x1a2b3c4d;
constexpr std::uint32_t pcapng_interface_description = 1;
constexpr std::uint32_t pcapng_obsolete_packet = 2;
constexpr std::uint32_t pcapng_simple_packet = 3;
constexpr std::uint32_t pcapng_enhanced_packet = 6;
// Type, leading length and trailing length.
constexpr std::size_t pcapng_block_frame_size = 12;

// Link types (the LINKTYPE_ numbers a file records).
constexpr std::uint32_t link_null = 0;
constexpr std::uint32_t link_ethernet = 1;
constexpr std::uint32_t link_raw_bsd = 12;  // raw IP as some BSD writers number it
constexpr std::uint32_t link_raw_openbsd = 14;
constexpr std::uint32_t link_raw = 101;
constexpr std::uint32_t link_loop = 108;
constexpr std::uint32_t link_linux_sll = 113;
constexpr std::uint32_t link_ipv4 = 228;
constexpr std::uint32_t link_ipv6 = 229;
constexpr std::uint32_t link_linux_sll2 = 276;

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;

std::uint16_t be16(const std::uint8_t *p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::uint32_t swap32(std::uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

std::string hex32(std::uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) text += digits[(v >> shift) & 0xf];
    return text;
}

// Fixed-width fields of one file or section, in its byte order.
struct Fields {
    bool big_endian = false;

    std::uint32_t u32(const std::uint8_t *p) const {
        return big_endian ? std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3]
                          : std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8 | p[0];
    }
    std::uint16_t u16(const std::uint8_t *p) const {
        return static_cast<std::uint16_t>(big_endian ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
    }
};

std::uint32_t little32(const std::uint8_t *p) { return Fields{false}.u32(p); }

// An Ethernet header with zero addresses in front of a network-layer packet;
// ethertype 0 takes IPv4 or IPv6 from the packet's version.
std::vector<std::uint8_t> with_ethernet_header(Span packet, std::uint16_t ethertype) {
    if (ethertype == 0 && !packet.empty())
        ethertype = (packet[0] >> 4) == 6 ? ethertype_ipv6 : (packet[0] >> 4) == 4 ? ethertype_ipv4 : 0;
    std::vector<std::uint8_t> frame(14 + packet.size(), 0);
    frame[12] = static_cast<std::uint8_t>(ethertype >> 8);
    frame[13] = static_cast<std::uint8_t>(ethertype);
    if (!packet.empty()) std::memcpy(frame.data() + 14, packet.data(), packet.size());
    return frame;
}

// An Ethernet frame without its 802.1Q / 802.1ad tags: the kernel takes them
// off before a socket sees the packet.
std::vector<std::uint8_t> without_vlan_tags(Span frame) {
    std::size_t type_at = 12;
    while (frame.size() >= type_at + 6 && (be16(&frame[type_at]) == 0x8100 || be16(&frame[type_at]) == 0x88a8))
        type_at += 4;
    if (type_at == 12) return {frame.begin(), frame.end()};
    std::vector<std::uint8_t> untagged(frame.begin(), frame.begin() + 12);
    const Span rest = frame.subspan(type_at);
    untagged.insert(untagged.end(), rest.begin(), rest.end());
    return untagged;
}

class CaptureReader {
public:
    CaptureReader(const std::string &path, Span bytes) : path_(path), bytes_(bytes) {}

    Frames read() {
        if (bytes_.size() < 4)
            fail(bytes_.empty() ? "the file is empty; a pcap or pcapng capture was expected"
                                : "too short for a pcap or pcapng file (" + std::to_string(bytes_.size()) + " bytes)");
        const std::uint32_t magic = little32(bytes_.data());
        if (magic == pcapng_section_header) read_pcapng();
        else if (magic == pcap_magic_microseconds || magic == pcap_magic_nanoseconds) read_pcap(false);
        else if (magic == swap32(pcap_magic_microseconds) || magic == swap32(pcap_magic_nanoseconds)) read_pcap(true);
        else
            fail("not a pcap or pcapng file (it starts with " + hex32(swap32(magic)) +
                 "); save the capture in one of those formats (tcpdump -w, or pcapng from Wireshark)");
        return std::move(frames_);
    }

private:
    // What a pcapng section says of one interface; packet blocks name it by index.
    struct Interface {
        std::uint32_t link_type;
        std::uint32_t snapshot_length;
    };

    [[noreturn]] void fail(const std::string &problem) const { throw Error("capture " + path_ + ": " + problem); }

    std::string at(std::size_t offset) const { return " at byte " + std::to_string(offset); }

    void read_pcap(bool big_endian) {
        const Fields fields{big_endian};
        if (bytes_.size() < pcap_file_header_size)
            fail("the file ends within the pcap file header (" + std::to_string(bytes_.size()) + " of " +
                 std::to_string(pcap_file_header_size) + " bytes); it is truncated");
        const std::uint16_t major = fields.u16(&bytes_[4]);
        if (major != 2)
            fail("pcap version " + std::to_string(major) + "." + std::to_string(fields.u16(&bytes_[6])) +
                 " is not supported (2.x is)");
        // The top six bits say whether packets end in a frame check sequence, and its length.
        const std::uint32_t link_type = fields.u32(&bytes_[20]) & 0x03ffffff;
        std::size_t offset = pcap_file_header_size;
        for (std::size_t number = 1; offset < bytes_.size(); ++number) {
            const std::size_t left = bytes_.size() - offset;
            if (left < pcap_record_header_size)
                fail("packet " + std::to_string(number) + at(offset) + ": the file ends within its record header (" +
                     std::to_string(left) + " of " + std::to_string(pcap_record_header_size) +
                     " bytes); the capture is truncated");
            const std::uint32_t captured = fields.u32(&bytes_[offset + 8]);
            offset += pcap_record_header_size;
            if (captured > bytes_.size() - offset)
                fail("packet " + std::to_string(number) + at(offset - pcap_record_header_size) +
                     ": its captured length " + std::to_string(captured) + " runs past the end of the file (" +
                     std::to_string(bytes_.size() - offset) + " bytes left); the capture is truncated or corrupt");
            add_frame(link_type, bytes_.subspan(offset, captured), number);
            offset += captured;
        }
    }

    void read_pcapng() {
        Fields fields;
        bool in_section = false;
        std::vector<Interface> interfaces;
        std::size_t number = 0;
        for (std::size_t offset = 0; offset < bytes_.size();) {
            const std::size_t left = bytes_.size() - offset;
            if (left < pcapng_block_frame_size)
                fail("block" + at(offset) + ": the file ends within its header (" + std::to_string(left) +
                     " bytes left); the capture is truncated");
            const std::uint8_t *block = &bytes_[offset];
            if (little32(block) == pcapng_section_header) {
                // A new section may have another byte order: its magic follows the length.
                const std::uint32_t magic = little32(block + 8);
                if (magic == pcapng_byte_order_magic) fields.big_endian = false;
                else if (magic == swap32(pcapng_byte_order_magic)) fields.big_endian = true;
                else
                    fail("section header" + at(offset) + ": byte-order magic " + hex32(magic) +
                         " is not 0x1a2b3c4d in either byte order; the file is corrupt");
            } else if (!in_section) {
                fail("block" + at(offset) + ": the file does not start with a section header");
            }
            const std::uint32_t type = fields.u32(block);
            const std::uint32_t length = fields.u32(block + 4);
            if (length < pcapng_block_frame_size || length % 4 != 0)
                fail("block" + at(offset) + ": its length " + std::to_string(length) +
                     (length < pcapng_block_frame_size ? " is less than the 12 bytes every block has"
                                                       : " is not a multiple of 4") +
                     "; the file is corrupt");
            if (length > left)
                fail("block" + at(offset) + ": its length " + std::to_string(length) +
                     " runs past the end of the file (" + std::to_string(left) +
                     " bytes left); the capture is truncated");
            if (fields.u32(block + length - 4) != length)
                fail("block" + at(offset) + ": its trailing length " + std::to_string(fields.u32(block + length - 4)) +
                     " differs from its leading length " + std::to_string(length) + "; the file is corrupt");
            const Span body = bytes_.subspan(offset + 8, length - pcapng_block_frame_size);
            switch (type) {
            case pcapng_section_header: {
                if (body.size() < 16) fail(too_short("section header", offset, body.size(), 16));
                const std::uint16_t major = fields.u16(&body[4]);
                if (major != 1)
                    fail("section header" + at(offset) + ": pcapng version " + std::to_string(major) + "." +
                         std::to_string(fields.u16(&body[6])) + " is not supported (1.x is)");
                in_section = true;
                interfaces.clear();
                break;
            }
            case pcapng_interface_description:
                if (body.size() < 8) fail(too_short("interface description", offset, body.size(), 8));
                interfaces.push_back({fields.u16(&body[0]), fields.u32(&body[4])});
                break;
            case pcapng_enhanced_packet:
            case pcapng_obsolete_packet: {
                ++number;
                const char *what = type == pcapng_enhanced_packet ? "enhanced packet" : "packet";
                if (body.size() < 20) fail(too_short(what, offset, body.size(), 20));
                const std::uint32_t interface = type == pcapng_enhanced_packet ? fields.u32(&body[0])
                                                                               : fields.u16(&body[0]);
                const std::uint32_t captured = fields.u32(&body[12]);
                if (captured > body.size() - 20)
                    fail(std::string(what) + " block" + at(offset) + ": its captured length " +
                         std::to_string(captured) + " runs past the end of its block (" +
                         std::to_string(body.size() - 20) + " bytes); the file is corrupt");
                add_frame(link_of(interfaces, interface, offset), body.subspan(20, captured), number);
                break;
            }
            case pcapng_simple_packet: {
                ++number;
                if (body.size() < 4) fail(too_short("simple packet", offset, body.size(), 4));
                // The packet of interface 0, cut to the interface's snapshot length.
                const std::uint32_t link_type = link_of(interfaces, 0, offset);
                std::size_t captured = std::min<std::size_t>(fields.u32(&body[0]), body.size() - 4);
                if (interfaces[0].snapshot_length != 0)
                    captured = std::min<std::size_t>(captured, interfaces[0].snapshot_length);
                add_frame(link_type, body.subspan(4, captured), number);
                break;
            }
            default: break;  // statistics, name resolution, custom blocks: nothing a filter sees
            }
            offset += length;
        }
    }

    std::uint32_t link_of(const std::vector<Interface> &interfaces, std::uint32_t interface, std::size_t offset) const {
        if (interface >= interfaces.size())
            fail("packet block" + at(offset) + ": it names interface " + std::to_string(interface) + " but " +
                 (interfaces.empty() ? std::string("no interface is described before it")
                                     : "only " + std::to_string(interfaces.size()) + " are described before it") +
                 "; the file is corrupt");
        return interfaces[interface].link_type;
    }

    std::string too_short(const char *what, std::size_t offset, std::size_t body, std::size_t needed) const {
        return std::string(what) + " block" + at(offset) + ": its body of " + std::to_string(body) +
               " bytes is shorter than the " + std::to_string(needed) + " its fixed fields need; the file is corrupt";
    }

    void add_frame(std::uint32_t link_type, Span packet, std::size_t number) {
        auto shorter_than_header = [&](const char *kind) {
            fail("packet " + std::to_string(number) + ": a " + kind + " packet shorter than its header (" +
                 std::to_string(packet.size()) + " bytes)");
        };
        switch (link_type) {
        case link_ethernet: frames_.push_back(without_vlan_tags(packet)); break;
        case link_raw:
        case link_raw_bsd:
        case link_raw_openbsd:
        case link_ipv4:
        case link_ipv6: frames_.push_back(with_ethernet_header(packet, 0)); break;
        case link_linux_sll:
            if (packet.size() < 16) shorter_than_header("Linux cooked");
            frames_.push_back(with_ethernet_header(packet.subspan(16), be16(&packet[14])));
            break;
        case link_linux_sll2:
            if (packet.size() < 20) shorter_than_header("Linux cooked");
            frames_.push_back(with_ethernet_header(packet.subspan(20), be16(&packet[0])));
            break;
        case link_null:
        case link_loop:
            // The address family is in the writer's byte order (NULL) or big-endian
            // (LOOP); the IP version nibble says the same either way.
            if (packet.size() < 4) shorter_than_header("loopback");
            frames_.push_back(with_ethernet_header(packet.subspan(4), 0));
            break;
        default:
            fail("link type " + std::to_string(link_type) +
                 " is not supported (Ethernet, raw IP, Linux cooked and loopback captures are)");
        }
    }

    const std::string &path_;
    Span bytes_;
    Frames frames_;
};

}  // namespace

std::vector<std::vector<std::uint8_t>> read_capture_frames(const std::string &path) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path, "capture");
    return CaptureReader(path, bytes).read();
}

}  // namespace alf
