// eBPF instructions spelled out by their encoding fields, for programs built
// by hand: a classic program translated (classic/classic_to_ebpf.hpp), the
// tests' helpers.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace alf::insn {

inline bpf_insn make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

inline bpf_insn mov_reg(std::uint8_t dst, std::uint8_t src) { return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
inline bpf_insn mov_imm(std::uint8_t dst, std::int32_t imm) { return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
// A 32-bit move: the upper half of dst is cleared.
inline bpf_insn mov32_imm(std::uint8_t dst, std::int32_t imm) { return make(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
inline bpf_insn add_imm(std::uint8_t dst, std::int32_t imm) { return make(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
inline bpf_insn load_u32(std::uint8_t dst, std::uint8_t src, std::int16_t off) {
    return make(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
inline bpf_insn store_u32_imm(std::uint8_t dst, std::int16_t off, std::int32_t imm) {
    return make(BPF_ST | BPF_MEM | BPF_W, dst, 0, off, imm);
}
inline bpf_insn jump_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm, std::int16_t off) {
    return make(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
inline bpf_insn call(std::int32_t helper) { return make(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
inline bpf_insn exit_insn() { return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

}  // namespace alf::insn
