#include "workbench/pcap_reader.hpp"

#include "common/error.hpp"

#include <pcap/pcap.h>

#include <cstring>
#include <memory>

namespace alf {

namespace {

struct PcapCloser {
    void operator()(pcap_t *capture) const { pcap_close(capture); }
};

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;

// An Ethernet header with zero addresses in front of a network-layer packet.
std::vector<std::uint8_t> with_ethernet_header(const std::uint8_t *packet, std::size_t size, std::uint16_t ethertype) {
    if (ethertype == 0 && size > 0)
        ethertype = (packet[0] >> 4) == 6 ? ethertype_ipv6 : (packet[0] >> 4) == 4 ? ethertype_ipv4 : 0;
    std::vector<std::uint8_t> frame(14 + size, 0);
    frame[12] = static_cast<std::uint8_t>(ethertype >> 8);
    frame[13] = static_cast<std::uint8_t>(ethertype);
    if (size) std::memcpy(frame.data() + 14, packet, size);
    return frame;
}

std::uint16_t be16(const std::uint8_t *p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

std::vector<std::vector<std::uint8_t>> read_capture_frames(const std::string &path) {
    char error[PCAP_ERRBUF_SIZE] = "";
    std::unique_ptr<pcap_t, PcapCloser> capture(pcap_open_offline(path.c_str(), error));
    if (!capture) throw Error("capture " + path + ": " + error);
    const int link = pcap_datalink(capture.get());
    std::vector<std::vector<std::uint8_t>> frames;
    struct pcap_pkthdr *header;
    const u_char *data;
    int status;
    while ((status = pcap_next_ex(capture.get(), &header, &data)) == 1) {
        const std::size_t size = header->caplen;
        switch (link) {
        case DLT_EN10MB: {
            std::vector<std::uint8_t> frame(data, data + size);
            // 802.1Q / 802.1ad tags: the kernel takes them off before a socket sees the packet.
            while (frame.size() >= 18 && (be16(&frame[12]) == 0x8100 || be16(&frame[12]) == 0x88a8))
                frame.erase(frame.begin() + 12, frame.begin() + 16);
            frames.push_back(std::move(frame));
            break;
        }
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6: frames.push_back(with_ethernet_header(data, size, 0)); break;
        case DLT_LINUX_SLL:
            if (size < 16) throw Error("capture " + path + ": a Linux cooked packet shorter than its header");
            frames.push_back(with_ethernet_header(data + 16, size - 16, be16(data + 14)));
            break;
        case DLT_LINUX_SLL2:
            if (size < 20) throw Error("capture " + path + ": a Linux cooked packet shorter than its header");
            frames.push_back(with_ethernet_header(data + 20, size - 20, be16(data)));
            break;
        case DLT_NULL:
        case DLT_LOOP:
            if (size < 4) throw Error("capture " + path + ": a loopback packet shorter than its header");
            frames.push_back(with_ethernet_header(data + 4, size - 4, 0));
            break;
        default:
            const char *name = pcap_datalink_val_to_name(link);
            throw Error("capture " + path + ": link type " + (name ? name : std::to_string(link)) +
                        " is not supported (Ethernet, raw IP, Linux cooked and loopback captures are)");
        }
    }
    if (status == PCAP_ERROR) throw Error("capture " + path + ": " + pcap_geterr(capture.get()));
    return frames;
}

}  // namespace alf
