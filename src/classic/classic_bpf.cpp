#include "classic/classic_bpf.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <deque>
#include <optional>

namespace alf {

namespace {

constexpr std::uint32_t keep_all = 0xffffffff;
constexpr std::int32_t net = SKF_NET_OFF;
constexpr std::uint32_t protocol_offset = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL);
constexpr std::size_t max_jump = 255;  // jt/jf are 8 bits

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return {code, 0, 0, k}; }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) { return {code, jt, jf, k}; }

std::uint32_t net_offset(int byte) { return static_cast<std::uint32_t>(net + byte); }

// The word of an IPv6 source at byte 8 + 4 * w of the header.
std::uint32_t source6_word(int w) { return net_offset(8 + 4 * w); }

// A decision over the accumulator A: a verdict, a comparison, or loading
// the next word of the address and deciding on it.
struct Node {
    enum class Kind { leaf, compare, load } kind = Kind::leaf;
    bool allow = false;                 // leaf
    std::uint32_t k = 0;                // compare: the bound; load: the packet offset
    const Node *below = nullptr;        // compare: A < k
    const Node *next = nullptr;         // compare: A >= k; load: what follows
};

class Tree {
public:
    const Node *leaf(bool allow) { return &nodes_.emplace_back(Node{Node::Kind::leaf, allow, 0, nullptr, nullptr}); }
    const Node *compare(std::uint32_t k, const Node *below, const Node *above) {
        return &nodes_.emplace_back(Node{Node::Kind::compare, false, k, below, above});
    }
    const Node *load(std::uint32_t offset, const Node *next) {
        return &nodes_.emplace_back(Node{Node::Kind::load, false, offset, nullptr, next});
    }

private:
    std::deque<Node> nodes_;  // stable addresses
};

bool is_leaf(const Node *n) { return n->kind == Node::Kind::leaf; }

// A piece of one word's value range: [low, next piece's low).
struct Piece {
    std::uint32_t low;
    const Node *decision;  // with A = the word being tested
};

// Balanced binary search over pieces (sorted, pieces[lo].low is the range's low).
const Node *search(Tree &tree, const std::vector<Piece> &pieces, std::size_t lo, std::size_t hi) {
    if (lo == hi) return pieces[lo].decision;
    std::size_t mid = (lo + hi + 1) / 2;
    return tree.compare(pieces[mid].low, search(tree, pieces, lo, mid - 1), search(tree, pieces, mid, hi));
}

// Neighbouring pieces that end in the same verdict merge.
const Node *search_merged(Tree &tree, const std::vector<Piece> &pieces) {
    std::vector<Piece> merged;
    for (const auto &p : pieces) {
        if (!merged.empty() && is_leaf(p.decision) && is_leaf(merged.back().decision) &&
            merged.back().decision->allow == p.decision->allow)
            continue;
        merged.push_back(p);
    }
    return search(tree, merged, 0, merged.size() - 1);
}

// Decides among IPv6 segments [lo, hi] with A holding word `w` of the address
// and words before it known to equal those of every boundary in between.
const Node *decide6(Tree &tree, std::span<const ClassicSegment6> segs, std::size_t lo, std::size_t hi, int w) {
    if (lo == hi) return tree.leaf(segs[lo].allow);
    auto word = [&](std::size_t s, int i) { return segs[s].first[static_cast<std::size_t>(i)]; };
    auto lower_words_zero = [&](std::size_t s) {
        for (int j = w + 1; j < 4; ++j)
            if (word(s, j) != 0) return false;
        return true;
    };
    std::vector<Piece> pieces;
    std::size_t current = lo;  // the segment in force from open_low on
    std::uint32_t open_low = 0;
    bool open = true;          // a piece [open_low, ...) awaits its end
    for (std::size_t i = lo + 1; i <= hi;) {
        std::uint32_t v = word(i, w);
        std::size_t group_end = i;
        while (group_end < hi && word(group_end + 1, w) == v) ++group_end;
        if (open && v != open_low) pieces.push_back({open_low, tree.leaf(segs[current].allow)});
        if (group_end == i && lower_words_zero(i)) {
            open_low = v;
            current = i;
        } else {
            // Word w == v holds boundaries below this word: descend to word w+1,
            // starting from the segment in force where word w becomes v.
            std::size_t first_in = lower_words_zero(i) ? i : i - 1;
            pieces.push_back({v, tree.load(source6_word(w + 1), decide6(tree, segs, first_in, group_end, w + 1))});
            current = group_end;
            open = v != 0xffffffff;  // the last value: nothing follows
            open_low = v + 1;
        }
        i = group_end + 1;
    }
    if (open) pieces.push_back({open_low, tree.leaf(segs[current].allow)});
    return search_merged(tree, pieces);
}

const Node *decide4(Tree &tree, std::span<const ClassicSegment4> segs) {
    std::vector<Piece> pieces;
    for (const auto &s : segs) pieces.push_back({s.first, tree.leaf(s.allow)});
    return search_merged(tree, pieces);
}

// Emits a program back to front: classic BPF jumps only forward, so a
// jump's target always exists when the jump is written. Positions count
// from the program's end. Verdicts are shared: a comparison whose outcome
// is a verdict jumps to the nearest return of that verdict within reach
// instead of having one of its own (one instruction a boundary, not three).
class Emitter {
public:
    std::size_t front() const { return reversed_.size(); }

    std::size_t emit(sock_filter instruction) {
        reversed_.push_back(instruction);
        return reversed_.size() - 1;
    }

    std::size_t ret(bool allow) {
        std::size_t at = emit(stmt(BPF_RET | BPF_K, allow ? keep_all : 0));
        nearest_ret_[allow] = at;
        return at;
    }

    // A return of `allow` that a jump written after `slack` more instructions reaches.
    std::size_t reachable_ret(bool allow, std::size_t slack) {
        auto at = nearest_ret_[allow];
        if (at && front() + slack - *at - 1 <= max_jump) return *at;
        return ret(allow);
    }

    std::size_t jump_always(std::size_t to) {
        return emit(stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(front() - to - 1)));
    }

    // A conditional jump written at the front, to two earlier positions.
    std::size_t branch(std::uint16_t test, std::uint32_t k, std::size_t if_true, std::size_t if_false) {
        return emit(jump(BPF_JMP | test | BPF_K, k, offset(if_true), offset(if_false)));
    }

    // Writes the decision; its first instruction ends at the front.
    std::size_t node(const Node *n) {
        switch (n->kind) {
        case Node::Kind::leaf: return ret(n->allow);
        case Node::Kind::load:
            node(n->next);
            return emit(stmt(BPF_LD | BPF_W | BPF_ABS, n->k));
        case Node::Kind::compare: break;
        }
        std::optional<std::size_t> above, below;
        if (!is_leaf(n->next)) above = node(n->next);
        if (!is_leaf(n->below)) below = node(n->below);
        // Up to two returns and a trampoline may come between a target and the jump.
        std::size_t above_at = above ? *above : reachable_ret(n->next->allow, 3);
        std::size_t below_at = below ? *below : reachable_ret(n->below->allow, 3);
        if (above && front() - *above - 1 > max_jump) above_at = jump_always(*above);
        return branch(BPF_JGE, n->k, above_at, below_at);
    }

    std::vector<sock_filter> program() const { return {reversed_.rbegin(), reversed_.rend()}; }

private:
    std::uint8_t offset(std::size_t to) const {
        std::size_t distance = front() - to - 1;
        if (to >= front() || distance > max_jump) throw Error("internal error: classic BPF jump out of reach");
        return static_cast<std::uint8_t>(distance);
    }

    std::vector<sock_filter> reversed_;
    std::optional<std::size_t> nearest_ret_[2];
};

}  // namespace

std::string classic_limit_advice() {
    return "the kernel allows " + std::to_string(classic_max_instructions) +
           " (fewer or coarser rules fit; with CAP_BPF the eBPF rules filter takes any number)";
}

ClassicProgram compile_classic(std::span<const ClassicSegment4> ipv4, std::span<const ClassicSegment6> ipv6) {
    if (ipv4.empty() || ipv6.empty() || ipv4.front().first != 0 ||
        ipv6.front().first != std::array<std::uint32_t, 4>{0, 0, 0, 0})
        throw Error("internal: classic rule segments must start at the beginning of the address space");
    Tree tree;
    Emitter out;
    // In program order:
    //   dispatch on the protocol: IPv6, IPv4 (through a jump), or drop
    //   IPv6: word 3 of the source (so a packet cut inside it is dropped),
    //         word 0; when it is 0, words 1 and 2 tell whether
    //         the source is IPv4-mapped (::ffff:a.b.c.d): then its IPv4
    //         address joins the IPv4 tree; otherwise the IPv6 tree with A = 0
    //   IPv4: load the source, then the IPv4 tree.
    std::size_t tree4 = out.node(decide4(tree, ipv4));
    std::size_t load4 = out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, net_offset(12)));
    std::size_t tree6 = out.node(decide6(tree, ipv6, 0, ipv6.size() - 1, 0));
    std::size_t zero6 = out.emit(stmt(BPF_LD | BPF_IMM, 0));
    out.jump_always(tree4);
    std::size_t mapped = out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, source6_word(3)));
    out.branch(BPF_JEQ, 0xffff, mapped, zero6);
    std::size_t word2 = out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, source6_word(2)));
    out.branch(BPF_JEQ, 0, word2, zero6);
    std::size_t word1 = out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, source6_word(1)));
    out.branch(BPF_JEQ, 0, word1, tree6);
    out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, source6_word(0)));
    // The last word first, and ignored: a packet cut inside the source is
    // dropped whatever words the tree reads, as the eBPF filter drops it.
    std::size_t load6 = out.emit(stmt(BPF_LD | BPF_W | BPF_ABS, source6_word(3)));
    std::size_t drop = out.ret(false);
    std::size_t to_ipv4 = out.jump_always(load4);
    out.branch(BPF_JEQ, ethertype_ipv4, to_ipv4, drop);
    out.branch(BPF_JEQ, ethertype_ipv6, load6, out.front() - 1);
    out.emit(stmt(BPF_LD | BPF_H | BPF_ABS, protocol_offset));
    ClassicProgram program{out.program()};
    if (program.instructions.size() > classic_max_instructions)
        throw Error("the rules need " + std::to_string(program.instructions.size()) +
                    " classic BPF instructions; " + classic_limit_advice());
    return program;
}

std::uint32_t run_classic(std::span<const sock_filter> program, std::span<const std::uint8_t> packet,
                          std::uint16_t protocol) {
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
        case BPF_LD | BPF_H | BPF_ABS:
            a = in.k == protocol_offset ? protocol : load(static_cast<std::int32_t>(in.k), 2, ok);
            break;
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
