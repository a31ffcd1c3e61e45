// Running a loaded socket filter on synthetic packets (BPF_PROG_TEST_RUN):
// what alfctl test, the benchmarks and the tests use to judge a filter
// without a network. A test run's input is an Ethernet frame: the kernel
// strips the 14-byte Ethernet header and the program sees the IP packet.
#pragma once

#include "common/net_address.hpp"
#include "workbench/test_packet.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace alf {

// A TCP SYN from source to destination (same family), framed as the kernel
// expects a test run's input: a 14-byte Ethernet header, then the IP packet.
std::vector<std::uint8_t> synthetic_tcp_syn(const IpAddress &source, const IpAddress &destination,
                                            std::uint16_t source_port = 49153, std::uint16_t destination_port = 8080);

struct TestRunResult {
    std::uint32_t verdict = 0;  // the program's return value: 0 drops
    double ns_per_run = 0;      // the kernel's average over `repeat` runs
};

// Throws Error (exit status 2) when the kernel refuses the test run.
TestRunResult test_run_filter(int program_fd, std::span<const std::uint8_t> frame, int repeat = 1);

// One packet judged, as alfctl test reports it.
struct FrameRun {
    std::uint32_t returned = 0;  // the program's return value
    PacketVerdict verdict = PacketVerdict::drop;
    bool trimmed = false;        // passed, but cut to `returned` bytes
    std::uint32_t length = 0;    // skb->len the program saw (from the IP header on)
};

// A program's return value on an Ethernet frame of frame_size bytes, judged.
FrameRun judge_frame(std::uint32_t returned, std::size_t frame_size);

// The largest frame the kernel takes for a test run of a socket filter (it
// must fit one page with the skb's head- and tailroom).
inline constexpr std::size_t test_run_max_frame = 3500;

// Runs the program once on an Ethernet frame; throws Error when the kernel
// refuses the run.
FrameRun run_frame(int program_fd, std::span<const std::uint8_t> frame);

}  // namespace alf
