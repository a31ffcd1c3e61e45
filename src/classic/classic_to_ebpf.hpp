// A classic socket filter translated into an equivalent eBPF socket
// filter, instruction by instruction, the way the kernel converts one when
// it is attached (the kernel runs classic programs only after that
// conversion). alfwrapper loads the translation where the kernel refuses
// the classic program itself: on a TCP socket, which takes classic BPF only
// from CAP_NET_ADMIN, while eBPF needs CAP_BPF (a delegated alfwrapper).
// It needs no guard of the verifier's (no stack, no pointer arithmetic), so
// it costs with CAP_BPF alone what it costs as root (bench/RESULTS.md).
// BPF_PROG_TEST_RUN takes no classic program: the tests and benchmarks run
// its translation in the kernel.
#pragma once

#include "common/unique_fd.hpp"

#include <linux/bpf.h>
#include <linux/filter.h>

#include <cstddef>
#include <span>
#include <vector>

namespace alf {

// Supports what compile_classic() emits: word, half-word and byte loads at
// absolute offsets (network-header offsets included) and the protocol
// ancillary load, immediate loads, jumps, returns. Throws Error on anything else.
std::vector<bpf_insn> classic_to_ebpf(std::span<const sock_filter> program);

// The translation loaded as a socket filter (needs CAP_BPF), and its length.
// Throws Error saying why the kernel refused it (the verifier's log as the
// detail) and what to do.
struct TranslatedClassic {
    UniqueFd fd;
    std::size_t instructions = 0;
};
TranslatedClassic load_classic_as_ebpf(std::span<const sock_filter> program);

}  // namespace alf
