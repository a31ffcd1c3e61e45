#include "classic/classic_to_ebpf.hpp"

#include "bpf/bpf_insn.hpp"
#include "bpf/bpf_syscall.hpp"
#include "bpf/verifier_log.hpp"
#include "common/error.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace alf {

namespace {

// The kernel's register assignment for converted classic programs.
constexpr std::uint8_t reg_a = BPF_REG_0, reg_x = BPF_REG_7, reg_ctx = BPF_REG_6, reg_tmp = BPF_REG_2;
constexpr std::uint32_t protocol_offset = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL);

std::int32_t as_imm(std::uint32_t k) { return static_cast<std::int32_t>(k); }

// The test that holds when the classic one fails.
std::uint8_t inverse(std::uint8_t test) {
    switch (test) {
    case BPF_JEQ: return BPF_JNE;
    case BPF_JGE: return BPF_JLT;
    case BPF_JGT: return BPF_JLE;
    }
    throw Error("classic to eBPF: unsupported jump test " + std::to_string(test));
}

class Translation {
public:
    explicit Translation(std::span<const sock_filter> program) : program_(program), start_(program.size()) {}

    std::vector<bpf_insn> run() {
        // As the kernel does: A and X start at 0 (it clears them with xor,
        // which the verifier refuses on registers never written), the
        // context stays in R6 (LD_ABS reads it there).
        out_.push_back(insn::mov32_imm(reg_a, 0));
        out_.push_back(insn::mov32_imm(reg_x, 0));
        out_.push_back(insn::mov_reg(reg_ctx, BPF_REG_1));
        for (std::size_t i = 0; i < program_.size(); ++i) {
            start_[i] = out_.size();
            translate(i, program_[i]);
        }
        for (const auto &[at, target] : patches_) {
            if (target >= program_.size()) throw Error("classic to eBPF: a jump leaves the program");
            out_[at].off = static_cast<std::int16_t>(static_cast<std::ptrdiff_t>(start_[target]) -
                                                     static_cast<std::ptrdiff_t>(at) - 1);
        }
        return std::move(out_);
    }

private:
    void jump_to(std::uint8_t code, std::uint8_t src, std::int32_t imm, std::size_t target) {
        patches_.push_back({out_.size(), target});
        out_.push_back(insn::make(code, reg_a, src, 0, imm));
    }

    void translate(std::size_t i, const sock_filter &in) {
        std::size_t next = i + 1;
        switch (BPF_CLASS(in.code)) {
        case BPF_LD:
            if (BPF_MODE(in.code) == BPF_IMM) {
                out_.push_back(insn::mov32_imm(reg_a, as_imm(in.k)));
            } else if (BPF_MODE(in.code) == BPF_ABS && BPF_SIZE(in.code) == BPF_H && in.k == protocol_offset) {
                out_.push_back(insn::load_u32(reg_a, reg_ctx, offsetof(__sk_buff, protocol)));
                out_.push_back(insn::make(BPF_ALU | BPF_END | BPF_TO_BE, reg_a, 0, 0, 16));
            } else if (BPF_MODE(in.code) == BPF_ABS) {
                out_.push_back(insn::make(BPF_LD | BPF_ABS | BPF_SIZE(in.code), 0, 0, 0, as_imm(in.k)));
            } else {
                unsupported(in);
            }
            return;
        case BPF_RET:
            if (BPF_RVAL(in.code) == BPF_K) out_.push_back(insn::mov32_imm(reg_a, as_imm(in.k)));
            else if (BPF_RVAL(in.code) != BPF_A) unsupported(in);
            out_.push_back(insn::exit_insn());
            return;
        case BPF_JMP: break;
        default: unsupported(in);
        }
        if (BPF_OP(in.code) == BPF_JA) {
            jump_to(BPF_JMP | BPF_JA, 0, 0, next + in.k);
            return;
        }
        if (BPF_SRC(in.code) != BPF_K) unsupported(in);
        std::uint8_t test = BPF_OP(in.code);
        std::uint8_t src_mode = BPF_K, src = 0;
        std::int32_t imm = as_imm(in.k);
        if (imm < 0) {
            // eBPF immediates are signed: the kernel compares with the
            // zero-extended bound in a register instead.
            out_.push_back(insn::mov32_imm(reg_tmp, imm));
            src_mode = BPF_X;
            src = reg_tmp;
            imm = 0;
        }
        std::size_t if_true = next + in.jt, if_false = next + in.jf;
        if (in.jt == in.jf) {
            jump_to(BPF_JMP | BPF_JA, 0, 0, if_true);
        } else if (in.jt == 0) {
            jump_to(BPF_JMP | inverse(test) | src_mode, src, imm, if_false);
        } else {
            jump_to(BPF_JMP | test | src_mode, src, imm, if_true);
            if (in.jf != 0) jump_to(BPF_JMP | BPF_JA, 0, 0, if_false);
        }
    }

    [[noreturn]] void unsupported(const sock_filter &in) {
        throw Error("classic to eBPF: unsupported instruction " + std::to_string(in.code));
    }

    std::span<const sock_filter> program_;
    std::vector<std::size_t> start_;  // where each classic instruction begins in out_
    std::vector<bpf_insn> out_;
    std::vector<std::pair<std::size_t, std::size_t>> patches_;  // (jump in out_, classic target)
};

}  // namespace

std::vector<bpf_insn> classic_to_ebpf(std::span<const sock_filter> program) { return Translation(program).run(); }

TranslatedClassic load_classic_as_ebpf(std::span<const sock_filter> program) {
    std::vector<bpf_insn> translated = classic_to_ebpf(program);
    // By the bpf() command itself: libbpf's bpf_prog_load() first probes
    // the kernel's features (two more program loads at every start).
    ProgramLoad load;
    load.name = "classic";
    load.instructions = translated;
    int fd = load_program(load);
    if (fd >= 0) return {UniqueFd(fd), translated.size()};
    int err = errno;
    std::string log, reason;
    if (err != EPERM) {
        // The reason is at the log's end; ask again for it (a failure
        // only: libbpf's probes do not matter here).
        log.assign(1 << 16, '\0');
        LIBBPF_OPTS(bpf_prog_load_opts, opts);
        opts.log_buf = log.data();
        opts.log_size = static_cast<std::uint32_t>(log.size());
        opts.log_level = 1;
        bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "classic", "GPL", translated.data(), translated.size(), &opts);
        log.resize(std::strlen(log.c_str()));
        reason = summarize_verifier_log(log).reason;
    }
    std::string what = "the rules' classic BPF program translated to eBPF (" + std::to_string(translated.size()) +
                       " instructions, for a TCP socket, which takes classic BPF only from CAP_NET_ADMIN): the "
                       "kernel refused it: " + std::strerror(err);
    if (!reason.empty()) what += " (" + reason + ")";
    throw Error(what + "; leave out --classic to load the eBPF rules filter", exit_system).with_detail(log);
}

}  // namespace alf
