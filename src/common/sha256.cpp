#include"common/sha256.hpp"

#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace alf {

namespace {

constexpr std::uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

std::uint32_t load_be32(const std::uint8_t *p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

}  // namespace

namespace sha256_detail {

void compress_portable(std::uint32_t state[8], const std::uint8_t *blocks, std::size_t count) {
    for (; count > 0; --count, blocks += 64) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i) w[i] = load_be32(blocks + 4 * i);
        for (int i = 16; i < 64; ++i) {
            std::uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        std::uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t sum1 = std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25);
            std::uint32_t choose = (e & f) ^ (~e & g);
            std::uint32_t t1 = h + sum1 + choose + round_constants[i] + w[i];
            std::uint32_t sum0 = std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22);
            std::uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
            std::uint32_t t2 = sum0 + majority;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#if defined(__x86_64__)

namespace {

// CPUID leaf 7: EBX bit 29 is SHA; leaf 1: ECX bits 9 and 19 are SSSE3 and
// SSE4.1, which the rounds below also use. Asked once.
bool cpu_has_sha_extensions() {
    static const bool has = [] {
        unsigned eax, ebx, ecx, edx;
        if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1U << 9)) || !(ecx & (1U << 19))) return false;
        if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
        return (ebx & (1U << 29)) != 0;
    }();
    return has;
}

// The state as the SHA instructions keep it: one register holds A, B, E, F
// (A in the top lane), the other C, D, G, H. sha256rnds2 makes two rounds,
// taking its two message words (plus constants) from the low 64 bits;
// sha256msg1 and sha256msg2 compute the message schedule four words at a
// time, w[t] = sigma1(w[t-2]) + w[t-7] + sigma0(w[t-15]) + w[t-16], with
// the w[t-7] terms added in between.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha(std::uint32_t state[8], const std::uint8_t *blocks,
                                                               std::size_t count) {
    const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i *>(state));      // lanes a b c d
    __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i *>(state + 4));  // lanes e f g h
    __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);                                   // b a d c
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);                                   // h g f e
    __m128i abef = _mm_alignr_epi8(badc, efgh, 8);                                  // f e b a
    __m128i cdgh = _mm_blend_epi16(efgh, badc, 0xF0);                               // h g d c
    for (; count > 0; --count, blocks += 64) {
        const __m128i abef_before = abef, cdgh_before = cdgh;
        __m128i w[4];
        for (int i = 0; i < 4; ++i)
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blocks + 16 * i)), big_endian);
        for (int group = 0; group < 16; ++group) {
            __m128i &words = w[group % 4];
            if (group >= 4) {
                // words holds w[t-16..t-13]; the others the 12 words since.
                const __m128i &next = w[(group + 1) % 4], &before_last = w[(group + 2) % 4],
                              &last = w[(group + 3) % 4];
                __m128i partial = _mm_add_epi32(_mm_sha256msg1_epu32(words, next),
                                                _mm_alignr_epi8(last, before_last, 4));
                words = _mm_sha256msg2_epu32(partial, last);
            }
            __m128i message = _mm_add_epi32(
                words, _mm_loadu_si128(reinterpret_cast<const __m128i *>(round_constants + 4 * group)));
            // Two rounds make the new A, B, E, F, and the old ones are the
            // new C, D, G, H: each call writes the register that is out of date.
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(message, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_before);
        cdgh = _mm_add_epi32(cdgh, cdgh_before);
    }
    __m128i abef_reversed = _mm_shuffle_epi32(abef, 0x1B);  // a b e f
    __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);           // g h c d
    _mm_storeu_si128(reinterpret_cast<__m128i *>(state), _mm_blend_epi16(abef_reversed, ghcd, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(state + 4), _mm_alignr_epi8(ghcd, abef_reversed, 8));
}

}  // namespace

bool compress_with_extensions(std::uint32_t state[8], const std::uint8_t *blocks, std::size_t count) {
    if (!cpu_has_sha_extensions()) return false;
    compress_sha(state, blocks, count);
    return true;
}

#else

bool compress_with_extensions(std::uint32_t *, const std::uint8_t *, std::size_t) { return false; }

#endif

}  // namespace sha256_detail

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::compress(const std::uint8_t *blocks, std::size_t count) {
    if (!sha256_detail::compress_with_extensions(state_.data(), blocks, count))
        sha256_detail::compress_portable(state_.data(), blocks, count);
}

Sha256 &Sha256::update(std::span<const std::uint8_t> bytes) {
    length_ += bytes.size();
    std::size_t i = 0;
    if (buffered_) {
        std::size_t take = std::min(bytes.size(), buffer_.size() - buffered_);
        std::memcpy(buffer_.data() + buffered_, bytes.data(), take);
        buffered_ += take;
        i = take;
        if (buffered_ < buffer_.size()) return *this;
        compress(buffer_.data(), 1);
        buffered_ = 0;
    }
    std::size_t blocks = (bytes.size() - i) / 64;
    compress(bytes.data() + i, blocks);
    i += 64 * blocks;
    std::memcpy(buffer_.data(), bytes.data() + i, bytes.size() - i);
    buffered_ = bytes.size() - i;
    return *this;
}

Sha256 &Sha256::update(std::string_view text) {
    return update(std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
}

Sha256 &Sha256::field(std::string_view text) {
    std::uint8_t size[8];
    for (int i = 0; i < 8; ++i) size[i] = std::uint8_t(std::uint64_t(text.size()) >> (8 * i));
    update(std::span<const std::uint8_t>(size, 8));
    return update(text);
}

Sha256::Digest Sha256::finish() {
    std::uint64_t bits = length_ * 8;
    std::uint8_t padding[72] = {0x80};
    std::size_t pad = (buffered_ < 56 ? 56 : 120) - buffered_;
    for (int i = 0; i < 8; ++i) padding[pad + i] = std::uint8_t(bits >> (56 - 8 * i));
    update(std::span<const std::uint8_t>(padding, pad + 8));
    Digest digest;
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 4; ++j) digest[4 * i + j] = std::uint8_t(state_[i] >> (24 - 8 * j));
    return digest;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        text += digits[b >> 4];
        text += digits[b & 15];
    }
    return text;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) { return to_hex(Sha256().update(bytes).finish()); }

std::string sha256_hex(std::string_view text) { return to_hex(Sha256().update(text).finish()); }

}  // namespace alf
