#include "workbench/test_run.hpp"

#include "common/error.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

namespace alf {

std::vector<std::uint8_t> synthetic_tcp_syn(const IpAddress &source, const IpAddress &destination,
                                            std::uint16_t source_port, std::uint16_t destination_port) {
    bool v4 = source.family == Family::ipv4;
    std::size_t ip_size = v4 ? 20 : 40;
    std::vector<std::uint8_t> packet(14 + ip_size + 20, 0);
    packet[12] = v4 ? 0x08 : 0x86;  // Ethernet type: IPv4 0x0800, IPv6 0x86dd
    packet[13] = v4 ? 0x00 : 0xdd;
    std::uint8_t *ip = packet.data() + 14;
    if (v4) {
        ip[0] = 0x45;  // version 4, 20-byte header
        ip[3] = 40;    // total length
        ip[8] = 64;    // TTL
        ip[9] = 6;     // TCP
        std::memcpy(ip + 12, source.bytes.data(), 4);
        std::memcpy(ip + 16, destination.bytes.data(), 4);
    } else {
        ip[0] = 0x60;  // version 6
        ip[5] = 20;    // payload length
        ip[6] = 6;     // next header: TCP
        ip[7] = 64;    // hop limit
        std::memcpy(ip + 8, source.bytes.data(), 16);
        std::memcpy(ip + 24, destination.bytes.data(), 16);
    }
    std::uint8_t *tcp = ip + ip_size;
    tcp[0] = static_cast<std::uint8_t>(source_port >> 8);
    tcp[1] = static_cast<std::uint8_t>(source_port);
    tcp[2] = static_cast<std::uint8_t>(destination_port >> 8);
    tcp[3] = static_cast<std::uint8_t>(destination_port);
    tcp[12] = 0x50;  // 20-byte header
    tcp[13] = 0x02;  // SYN
    return packet;
}

TestRunResult test_run_filter(int program_fd, std::span<const std::uint8_t> frame, int repeat) {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.repeat = repeat;
    if (int err = bpf_prog_test_run_opts(program_fd, &opts); err) {
        if (-err == EINVAL || -err == EMSGSIZE)
            throw Error("the kernel refused a test run on this packet of " + std::to_string(frame.size()) +
                        " bytes (" + std::to_string(test_run_max_frame) + " at most, 14 at least)");
        throw system_error("test run of the filter (BPF_PROG_TEST_RUN)", -err);
    }
    return {opts.retval, static_cast<double>(opts.duration)};
}

FrameRun run_frame(int program_fd, std::span<const std::uint8_t> frame) {
    return judge_frame(test_run_filter(program_fd, frame).verdict, frame.size());
}

FrameRun judge_frame(std::uint32_t returned, std::size_t frame_size) {
    FrameRun result;
    result.returned = returned;
    // The kernel strips the Ethernet header; the program sees the rest.
    result.length = static_cast<std::uint32_t>(frame_size - 14);
    // A socket filter's return value is how many bytes to keep: 0 drops.
    result.verdict = result.returned == 0 ? PacketVerdict::drop : PacketVerdict::pass;
    result.trimmed = result.returned != 0 && result.returned < result.length;
    return result;
}

}  // namespace alf
