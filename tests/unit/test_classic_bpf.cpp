// The classic BPF decision tree against a plain lookup over the same segments,
// run by the user-space interpreter. (The kernel runs the same program in the
// integration tests.)
#include "classic/classic_bpf.hpp"
#include "common/error.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

using namespace alf;

namespace {

using Word4 = std::array<std::uint32_t, 4>;

std::vector<std::uint8_t> ipv4_packet(std::uint32_t source) {
    std::vector<std::uint8_t> p(28, 0);
    p[0] = 0x45;
    for (int i = 0; i < 4; ++i) p[12 + i] = static_cast<std::uint8_t>(source >> (24 - 8 * i));
    return p;
}

std::vector<std::uint8_t> ipv6_packet(const Word4 &source) {
    std::vector<std::uint8_t> p(48, 0);
    p[0] = 0x60;
    for (int w = 0; w < 4; ++w)
        for (int i = 0; i < 4; ++i) p[8 + 4 * w + i] = static_cast<std::uint8_t>(source[w] >> (24 - 8 * i));
    return p;
}

template <typename Seg, typename Key>
bool reference(const std::vector<Seg> &segs, const Key &key) {
    auto it = std::upper_bound(segs.begin(), segs.end(), key, [](const Key &k, const Seg &s) { return k < s.first; });
    return std::prev(it)->allow;
}

// Boundaries that look like prefix edges (trailing zero bits), clustered so that
// IPv6 ones share leading words and force the tree to descend.
std::uint32_t edge(std::mt19937 &rng) {
    std::uint32_t v = static_cast<std::uint32_t>(rng());
    unsigned zeros = rng() % 33;
    return zeros == 32 ? 0 : v & ~((1u << zeros) - 1);
}

}  // namespace

TEST_CASE("classic rules program agrees with a plain lookup") {
    std::mt19937 rng(12345);
    std::size_t checked = 0;
    for (int round = 0; round < 60; ++round) {
        std::set<std::uint32_t> b4 = {0};
        std::set<Word4> b6 = {Word4{0, 0, 0, 0}};
        std::size_t n = 1 + rng() % (round < 50 ? 40 : 400);
        auto r32 = [&] { return static_cast<std::uint32_t>(rng()); };
        Word4 base = {0x20010db8, r32(), r32(), r32()};
        for (std::size_t i = 0; i < n; ++i) {
            b4.insert(edge(rng));
            Word4 w = base;
            int depth = static_cast<int>(rng() % 4);
            w[depth] = edge(rng);
            for (int j = depth + 1; j < 4; ++j) w[j] = rng() % 3 ? 0 : edge(rng);
            if (rng() % 4 == 0) w[0] = edge(rng);
            b6.insert(w);
        }
        std::vector<ClassicSegment4> s4;
        for (auto v : b4) s4.push_back({v, rng() % 2 == 0});
        std::vector<ClassicSegment6> s6;
        for (const auto &v : b6) s6.push_back({v, rng() % 2 == 0});
        ClassicProgram program = compile_classic(s4, s6);
        CHECK(program.instructions.size() <= classic_max_instructions);

        auto near = [&](std::uint32_t v) { return v + static_cast<std::uint32_t>(rng() % 3) - 1; };
        for (int probe = 0; probe < 400; ++probe) {
            std::uint32_t a4 = probe % 2 ? r32() : near(*std::next(b4.begin(), static_cast<long>(rng() % b4.size())));
            CAPTURE(a4);
            bool want4 = reference(s4, a4);
            CHECK((run_classic(program.instructions, ipv4_packet(a4), ethertype_ipv4) != 0) == want4);
            // An IPv4-mapped IPv6 source is judged as IPv4.
            CHECK((run_classic(program.instructions, ipv6_packet({0, 0, 0xffff, a4}), ethertype_ipv6) != 0) == want4);

            Word4 a6 = *std::next(b6.begin(), static_cast<long>(rng() % b6.size()));
            int w = static_cast<int>(rng() % 4);
            a6[w] = probe % 3 ? near(a6[w]) : r32();
            if (a6[0] == 0 && a6[1] == 0 && a6[2] == 0xffff) a6[2] = 0xfffe;
            CHECK((run_classic(program.instructions, ipv6_packet(a6), ethertype_ipv6) != 0) == reference(s6, a6));
            checked += 3;
        }
    }
    CHECK(checked > 50000);
}

TEST_CASE("classic program refuses what is not IP, and reports its size limit") {
    std::vector<ClassicSegment4> s4 = {{0, true}};
    std::vector<ClassicSegment6> s6 = {{{0, 0, 0, 0}, true}};
    ClassicProgram all = compile_classic(s4, s6);
    std::vector<std::uint8_t> arp(28, 0);
    CHECK(run_classic(all.instructions, arp, 0x0806) == 0);
    CHECK(run_classic(all.instructions, ipv4_packet(0x0a000001), 0) == 0);  // a Unix socket's packets
    CHECK(run_classic(all.instructions, ipv4_packet(0x0a000001), ethertype_ipv4) == 0xffffffff);
    CHECK(run_classic(all.instructions, std::vector<std::uint8_t>{0x45}, ethertype_ipv4) == 0);  // truncated

    std::vector<ClassicSegment4> many;
    for (std::uint32_t i = 0; i < 5000; ++i) many.push_back({i << 8, i % 2 == 0});
    try {
        compile_classic(many, s6);
        FAIL("accepted");
    } catch (const Error &e) {
        CHECK(std::string(e.what()).find("4096") != std::string::npos);
    }
}
