#include "classic_bpf.hpp"

#include "error.hpp"

#include <algorithm>
#include <memory>

namespace alf {

namespace {

constexpr std::uint32_t keep_all = 0xffffffff;
constexpr std::int32_t net = SKF_NET_OFF;
constexpr std::size_t max_jump = 255;  // jt/jf are 8 bits

using Code = std::vector<sock_filter>;

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return {code, 0, 0, k}; }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) { return {code, jt, jf, k}; }
sock_filter ret(bool allow) { return stmt(BPF_RET | BPF_K, allow ? keep_all : 0); }

// `if (A >= k) then_code else else_code`, with a trampoline when then_code is
// out of reach of an 8-bit jump.
Code branch_ge(std::uint32_t k, Code else_code, Code then_code) {
    Code out;
    if (else_code.size() <= max_jump) {
        out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, k, static_cast<std::uint8_t>(else_code.size()), 0));
    } else {
        out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, k, 0, 1));
        out.push_back(stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(else_code.size())));
    }
    out.insert(out.end(), else_code.begin(), else_code.end());
    out.insert(out.end(), then_code.begin(), then_code.end());
    return out;
}

// A piece of one word's value range: [low, next piece's low).
struct Piece {
    std::uint32_t low;
    Code code;  // with A = the word being tested, decides the packet
};

// Balanced binary search over pieces (sorted, first.low is the range's low).
Code search(std::vector<Piece> &pieces, std::size_t lo, std::size_t hi) {
    if (lo == hi) return std::move(pieces[lo].code);
    std::size_t mid = (lo + hi + 1) / 2;
    std::uint32_t k = pieces[mid].low;
    Code below = search(pieces, lo, mid - 1);
    Code above = search(pieces, mid, hi);
    return branch_ge(k, std::move(below), std::move(above));
}

// Decides among IPv6 segments [lo, hi] with A holding word `w` of the address
// and words before it known to equal those of every boundary in between.
Code decide6(std::span<const ClassicSegment6> segs, std::size_t lo, std::size_t hi, int w) {
    if (lo == hi) return {ret(segs[lo].allow)};
    std::vector<Piece> pieces;
    pieces.push_back({0, {}});
    std::size_t current = lo;  // segment in force at the start of the piece being built
    std::size_t i = lo + 1;
    auto lower_words_zero = [&](std::size_t s) {
        for (int j = w + 1; j < 4; ++j)
            if (segs[s].first[static_cast<std::size_t>(j)] != 0) return false;
        return true;
    };
    while (i <= hi) {
        std::uint32_t v = segs[i].first[static_cast<std::size_t>(w)];
        std::size_t group_end = i;
        while (group_end + 1 <= hi && segs[group_end + 1].first[static_cast<std::size_t>(w)] == v) ++group_end;
        bool exact = group_end == i && lower_words_zero(i);
        // Close the piece before v.
        pieces.back().code = {ret(segs[current].allow)};
        if (exact) {
            pieces.push_back({v, {}});
            current = i;
        } else {
            // Word w == v holds boundaries below this word: descend to word w+1.
            std::size_t first_in = lower_words_zero(i) ? i : i - 1;
            Code inner = {stmt(BPF_LD | BPF_MEM, static_cast<std::uint32_t>(w + 1))};
            Code rest = decide6(segs, first_in, group_end, w + 1);
            inner.insert(inner.end(), rest.begin(), rest.end());
            pieces.push_back({v, std::move(inner)});
            current = group_end;
            if (v != 0xffffffff) pieces.push_back({v + 1, {}});
        }
        i = group_end + 1;
    }
    if (pieces.back().code.empty()) pieces.back().code = {ret(segs[current].allow)};
    // Merge neighbouring single-return pieces with the same verdict.
    std::vector<Piece> merged;
    for (auto &p : pieces) {
        bool is_ret = p.code.size() == 1 && BPF_CLASS(p.code[0].code) == BPF_RET;
        if (!merged.empty() && is_ret && merged.back().code.size() == 1 &&
            BPF_CLASS(merged.back().code[0].code) == BPF_RET && merged.back().code[0].k == p.code[0].k)
            continue;
        merged.push_back(std::move(p));
    }
    return search(merged, 0, merged.size() - 1);
}

Code decide4(std::span<const ClassicSegment4> segs) {
    std::vector<Piece> pieces;
    for (const auto &s : segs) {
        if (!pieces.empty() && pieces.back().code[0].k == (s.allow ? keep_all : 0)) continue;
        pieces.push_back({s.first, {ret(s.allow)}});
    }
    return search(pieces, 0, pieces.size() - 1);
}

void append(Code &out, const Code &code) { out.insert(out.end(), code.begin(), code.end()); }

}  // namespace

ClassicProgram compile_classic(std::span<const ClassicSegment4> ipv4, std::span<const ClassicSegment6> ipv6) {
    if (ipv4.empty() || ipv6.empty() || ipv4.front().first != 0 ||
        ipv6.front().first != std::array<std::uint32_t, 4>{0, 0, 0, 0})
        throw Error("internal: classic rule segments must start at the beginning of the address space");

    // Layout (classic BPF jumps only forward):
    //   dispatch on the IP version nibble (anything else is dropped)
    //   IPv6: keep the source's four words in M[0..3]; an IPv4-mapped source
    //         (::ffff:a.b.c.d) loads its IPv4 address and joins the IPv4 tree
    //   IPv4: load the source, then the IPv4 tree.
    Code v6;
    for (std::uint32_t w = 0; w < 4; ++w) {
        v6.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(net + 8 + 4 * static_cast<std::int32_t>(w))));
        v6.push_back(stmt(BPF_ST, w));
    }
    Code v6_tree = {stmt(BPF_LD | BPF_MEM, 0)};
    append(v6_tree, decide6(ipv6, 0, ipv6.size() - 1, 0));
    Code mapped_checks = {
        stmt(BPF_LD | BPF_MEM, 0),
        jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5),
        stmt(BPF_LD | BPF_MEM, 1),
        jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
        stmt(BPF_LD | BPF_MEM, 2),
        jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffff, 0, 1),
        stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(v6_tree.size())),
    };
    append(v6, mapped_checks);
    append(v6, v6_tree);
    append(v6, {stmt(BPF_LD | BPF_MEM, 3), stmt(BPF_JMP | BPF_JA, 1)});

    Code program = {
        stmt(BPF_LD | BPF_B | BPF_ABS, static_cast<std::uint32_t>(net)),
        stmt(BPF_ALU | BPF_RSH | BPF_K, 4),
        jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 3, 0),
        jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 1),
        stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(1 + v6.size())),  // over the drop and IPv6
        ret(false),
    };
    append(program, v6);
    program.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(net + 12)));
    append(program, decide4(ipv4));
    if (program.size() > classic_max_instructions)
        throw Error("the rules need " + std::to_string(program.size()) + " classic BPF instructions; the kernel allows " +
                    std::to_string(classic_max_instructions) +
                    " (fewer or coarser rules fit; with CAP_BPF the eBPF rules filter has no such limit)");
    return {std::move(program)};
}

std::uint32_t run_classic(std::span<const sock_filter> program, std::span<const std::uint8_t> packet) {
    std::uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
    auto load = [&](std::int64_t offset, std::size_t size, bool &ok) -> std::uint32_t {
        if (offset >= net && offset < net + 0x10000) offset -= net;
        if (offset < 0 || static_cast<std::size_t>(offset) + size > packet.size()) {
            ok = false;
            return 0;
        }
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < size; ++i) v = (v << 8) | packet[static_cast<std::size_t>(offset) + i];
        return v;
    };
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter &in = program[pc];
        bool ok = true;
        switch (in.code) {
        case BPF_LD | BPF_W | BPF_ABS: a = load(static_cast<std::int32_t>(in.k), 4, ok); break;
        case BPF_LD | BPF_H | BPF_ABS: a = load(static_cast<std::int32_t>(in.k), 2, ok); break;
        case BPF_LD | BPF_B | BPF_ABS: a = load(static_cast<std::int32_t>(in.k), 1, ok); break;
        case BPF_LD | BPF_W | BPF_IND: a = load(static_cast<std::int64_t>(static_cast<std::int32_t>(in.k)) + x, 4, ok); break;
        case BPF_LD | BPF_IMM: a = in.k; break;
        case BPF_LDX | BPF_IMM: x = in.k; break;
        case BPF_LD | BPF_MEM: a = mem[in.k % BPF_MEMWORDS]; break;
        case BPF_LDX | BPF_MEM: x = mem[in.k % BPF_MEMWORDS]; break;
        case BPF_ST: mem[in.k % BPF_MEMWORDS] = a; break;
        case BPF_STX: mem[in.k % BPF_MEMWORDS] = x; break;
        case BPF_ALU | BPF_RSH | BPF_K: a >>= in.k; break;
        case BPF_ALU | BPF_LSH | BPF_K: a <<= in.k; break;
        case BPF_ALU | BPF_AND | BPF_K: a &= in.k; break;
        case BPF_MISC | BPF_TAX: x = a; break;
        case BPF_MISC | BPF_TXA: a = x; break;
        case BPF_JMP | BPF_JA: pc += in.k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += a == in.k ? in.jt : in.jf; break;
        case BPF_JMP | BPF_JGT | BPF_K: pc += a > in.k ? in.jt : in.jf; break;
        case BPF_JMP | BPF_JGE | BPF_K: pc += a >= in.k ? in.jt : in.jf; break;
        case BPF_RET | BPF_K: return in.k;
        case BPF_RET | BPF_A: return a;
        default: throw Error("classic BPF interpreter: unsupported instruction " + std::to_string(in.code));
        }
        if (!ok) return 0;  // the kernel drops a packet when a load runs past its end
    }
    return 0;
}

}  // namespace alf
