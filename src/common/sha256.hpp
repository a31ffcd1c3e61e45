// SHA-256 (FIPS 180-4): the digest that names compiled objects in the cache.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace alf {

class Sha256 {
public:
    using Digest = std::array<std::uint8_t, 32>;

    Sha256();
    Sha256 &update(std::span<const std::uint8_t> bytes);
    Sha256 &update(std::string_view text);
    // A length-prefixed field: ("ab","c") and ("a","bc") hash differently.
    Sha256 &field(std::string_view text);
    Digest finish();

private:
    void compress(const std::uint8_t *blocks, std::size_t count);
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
};

std::string to_hex(std::span<const std::uint8_t> bytes);

// The compression function over `count` 64-byte blocks, two ways: portable
// C++, and the x86 SHA extensions (SHA-NI; about five times faster), which
// Sha256 takes where the CPU has them. false: the CPU has none, nothing done.
namespace sha256_detail {
void compress_portable(std::uint32_t state[8], const std::uint8_t *blocks, std::size_t count);
bool compress_with_extensions(std::uint32_t state[8], const std::uint8_t *blocks, std::size_t count);
}  // namespace sha256_detail

// Lowercase hex of the SHA-256 of bytes.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
std::string sha256_hex(std::string_view text);

}  // namespace alf
