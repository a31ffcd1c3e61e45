// Running a loaded filter on synthetic packets (BPF_PROG_TEST_RUN): what
// benchmarks and tests use to judge a filter without a network.
#pragma once

#include "net_address.hpp"

#include <cstdint>
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
TestRunResult test_run_filter(int program_fd, const std::vector<std::uint8_t> &packet, int repeat = 1);

}  // namespace alf
