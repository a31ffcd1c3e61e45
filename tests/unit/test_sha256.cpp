#include "common/sha256.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>

using namespace alf;

TEST_CASE("SHA-256 of the FIPS 180-4 examples") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 does not depend on how the input is split") {
    std::string text;
    for (int i = 0; i < 300; ++i) text += static_cast<char>(i * 7);
    for (std::size_t split : {0, 1, 55, 56, 63, 64, 65, 128, 299}) {
        CAPTURE(split);
        Sha256 hash;
        hash.update(std::string_view(text).substr(0, split)).update(std::string_view(text).substr(split));
        CHECK(to_hex(hash.finish()) == sha256_hex(text));
    }
}

TEST_CASE("fields are length-prefixed") {
    CHECK(to_hex(Sha256().field("ab").field("c").finish()) != to_hex(Sha256().field("a").field("bc").finish()));
}

TEST_CASE("the SHA extensions compute what the portable rounds compute") {
    // Blocks and starting states from a fixed generator: many message
    // schedules and states, one to five blocks in a call.
    std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
    auto next = [&seed] {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed;
    };
    std::uint8_t blocks[5 * 64];
    int compared = 0;
    for (int round = 0; round < 200; ++round) {
        for (auto &byte : blocks) byte = static_cast<std::uint8_t>(next());
        std::uint32_t portable[8], extensions[8];
        for (int i = 0; i < 8; ++i) portable[i] = extensions[i] = static_cast<std::uint32_t>(next());
        std::size_t count = 1 + round % 5;
        sha256_detail::compress_portable(portable, blocks, count);
        if (!sha256_detail::compress_with_extensions(extensions, blocks, count)) break;
        CAPTURE(round);
        CHECK(std::equal(portable, portable + 8, extensions));
        ++compared;
    }
    // A CPU without them (none of the x86 machines this project is built
    // for) compares nothing; under ALF_TESTS_MUST_RUN=1 that fails.
    if (can_run_here(compared > 0, "this CPU has no SHA extensions: only the portable rounds ran"))
        CHECK(compared == 200);
}
