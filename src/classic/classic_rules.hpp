// Rule sets as classic BPF, the back end for callers without CAP_BPF: the
// rule compiler's address ranges, with "no rule covers" replaced by the
// rule set's default, cut into the segments compile_classic() takes; and
// what checks such a program without any privilege.
#pragma once

#include "classic/classic_bpf.hpp"
#include "inputs/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace alf {

struct ClassicRules {
    ClassicProgram program;
    std::size_t ipv4_segments = 0, ipv6_segments = 0;  // after merging neighbours of one verdict
};

// Throws Error when the rules do not fit classic BPF's 4096 instructions,
// saying how many they need and what else would work.
ClassicRules compile_rules_classic(const RuleSet &set, const CompiledRules &compiled);

// The kernel's own check of the program, which needs no privilege: it is
// attached to a UDP socket that is never bound. Throws Error with the
// kernel's reason.
void check_classic(const ClassicProgram &program);

// The program's verdict (bytes kept, 0 = drop) for a packet framed as a
// BPF_PROG_TEST_RUN input: a 14-byte Ethernet header (whose type gives the
// protocol the kernel would see), then the IP packet.
std::uint32_t test_classic(const ClassicProgram &program, std::span<const std::uint8_t> frame);

}  // namespace alf
