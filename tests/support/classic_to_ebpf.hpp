// A classic socket filter translated into an equivalent eBPF socket
// filter, instruction by instruction, the way the kernel converts one when
// it is attached: the kernel runs classic programs only after that
// conversion, and BPF_PROG_TEST_RUN accepts no classic program, so this is
// how a classic program's per-packet cost is measured (and how its verdicts
// are checked in the kernel) next to an eBPF filter. Needs CAP_BPF to load.
#pragma once

#include "common/unique_fd.hpp"

#include <linux/bpf.h>
#include <linux/filter.h>

#include <span>
#include <vector>

namespace alf {

// Supports what compile_classic() emits: word, half-word and byte loads at
// absolute offsets (network-header offsets included) and the protocol
// ancillary load, immediate loads, jumps, returns. Throws Error on anything else.
std::vector<bpf_insn> classic_to_ebpf(std::span<const sock_filter> program);

// Loads the translation as a socket filter; throws Error with the verifier's reason.
UniqueFd load_classic_as_ebpf(std::span<const sock_filter> program);

}  // namespace alf
