// Running a loaded socket filter on one packet with BPF_PROG_TEST_RUN.
#pragma once

#include "test_packet.hpp"

#include <cstdint>
#include <span>

namespace alf {

struct TestRunResult {
    std::uint32_t returned = 0;  // the program's return value
    Verdict verdict = Verdict::drop;
    bool trimmed = false;        // passed, but cut to `returned` bytes
    std::uint32_t length = 0;    // skb->len the program saw (from the IP header on)
};

// The largest frame the kernel takes for a test run of a socket filter (it
// must fit one page with the skb's head- and tailroom).
inline constexpr std::size_t test_run_max_frame = 3500;

// Runs the program once on an Ethernet frame; throws Error when the kernel
// refuses the run.
TestRunResult test_run(int program_fd, std::span<const std::uint8_t> frame);

}  // namespace alf
