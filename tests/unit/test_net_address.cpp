#include "common/error.hpp"
#include "common/net_address.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>

using namespace alf;

TEST_CASE("IPv4 and IPv6 addresses") {
    CHECK(parse_ipv4("127.0.0.1")->bytes[0] == 127);
    CHECK(parse_ipv4("255.255.255.255"));
    CHECK_FALSE(parse_ipv4("256.0.0.1"));
    CHECK_FALSE(parse_ipv4("10.0.0"));
    CHECK_FALSE(parse_ipv4("10.0.0.1 "));
    CHECK_FALSE(parse_ipv4("::1"));
    CHECK(parse_ipv6("::1")->bytes[15] == 1);
    CHECK(parse_ipv6("::ffff:10.0.0.1")->bytes[12] == 10);
    CHECK_FALSE(parse_ipv6("1:2:3:4:5:6:7:8:9"));
    CHECK_FALSE(parse_ipv6("fe80::1%eth0"));
    CHECK(parse_ip("10.1.2.3")->family == Family::ipv4);
    CHECK(parse_ip("2001:db8::1")->family == Family::ipv6);
    CHECK(format_ip(*parse_ip("2001:db8::1")) == "2001:db8::1");
}

TEST_CASE("subnets") {
    struct Case {
        const char *text;
        const char *canonical;
        bool host_bits;
    } cases[] = {
        {"10.0.0.0/8", "10.0.0.0/8", false},
        {"127.0.0.1/24", "127.0.0.0/24", true},  // the seed's own example
        {"192.0.2.7", "192.0.2.7/32", false},
        {"0.0.0.0/0", "0.0.0.0/0", false},
        {"::1/128", "::1/128", false},
        {"::1", "::1/128", false},
        {"2001:db8::1/32", "2001:db8::/32", true},
        {"::/0", "::/0", false},
        {"fe80::/10", "fe80::/10", false},
    };
    for (const auto &c : cases) {
        CAPTURE(c.text);
        Subnet s = parse_subnet(c.text);
        CHECK(format_subnet(s) == c.canonical);
        CHECK(s.host_bits_cleared == c.host_bits);
    }
}

TEST_CASE("bad subnets are errors that say what is wrong") {
    struct Case {
        const char *text;
        const char *needle;
    } cases[] = {
        {"10.0.0.0/33", "exceeds 32"},
        {"::/129", "exceeds 128"},
        {"10.0.0.0/", "not a number"},
        {"10.0.0.0/8x", "not a number"},
        {"10.0.0.300/8", "not an IP address"},
        {"", "not an IP address"},
        {"10.0.0.0/-1", "not a number"},
        {"hello", "not an IP address"},
    };
    for (const auto &c : cases) {
        CAPTURE(c.text);
        try {
            parse_subnet(c.text);
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(std::string(e.what()).find(c.needle) != std::string::npos);
        }
    }
    CHECK_THROWS_AS(parse_subnet("::1/64", Family::ipv4), Error);
    CHECK_THROWS_AS(parse_subnet("10.0.0.0/8", Family::ipv6), Error);
}

TEST_CASE("integers and ports") {
    CHECK(parse_unsigned("42", 255, "u8") == 42);
    CHECK(parse_unsigned("0xff", 255, "u8") == 255);
    CHECK_THROWS_AS(parse_unsigned("256", 255, "u8"), Error);
    CHECK_THROWS_AS(parse_unsigned("-1", 255, "u8"), Error);
    CHECK_THROWS_AS(parse_unsigned("", 255, "u8"), Error);
    CHECK_THROWS_AS(parse_unsigned("12abc", 255, "u8"), Error);
    CHECK_THROWS_AS(parse_unsigned("99999999999999999999999", UINT64_MAX, "u64"), Error);
    CHECK(parse_signed("-128", -128, 127, "s8") == -128);
    CHECK(parse_signed("-0", -128, 127, "s8") == 0);
    CHECK(parse_signed("127", -128, 127, "s8") == 127);
    CHECK_THROWS_AS(parse_signed("-129", -128, 127, "s8"), Error);
    CHECK_THROWS_AS(parse_signed("128", -128, 127, "s8"), Error);
    CHECK(parse_signed("-9223372036854775808", INT64_MIN, INT64_MAX, "s64") == INT64_MIN);
    CHECK(parse_port("4242") == 4242);
    CHECK_THROWS_AS(parse_port("0"), Error);
    CHECK_THROWS_AS(parse_port("65536"), Error);
    CHECK_THROWS_AS(parse_port("http"), Error);
}

TEST_CASE("address parsing agrees with inet_pton") {
    std::mt19937_64 random(3);
    auto check = [](const std::string &text) {
        unsigned char expected4[4], expected6[16];
        bool v4 = inet_pton(AF_INET, text.c_str(), expected4) == 1;
        bool v6 = inet_pton(AF_INET6, text.c_str(), expected6) == 1;
        auto a4 = parse_ipv4(text);
        auto a6 = parse_ipv6(text);
        CAPTURE(text);
        REQUIRE(a4.has_value() == v4);
        REQUIRE(a6.has_value() == v6);
        if (v4) CHECK(std::memcmp(a4->bytes.data(), expected4, 4) == 0);
        if (v6) CHECK(std::memcmp(a6->bytes.data(), expected6, 16) == 0);
    };
    // Random text from the characters addresses are made of: mostly invalid.
    const std::string alphabet = "0123456789abcdefABCDEF:.:::";
    for (int i = 0; i < 200000; ++i) {
        std::string text(1 + random() % 24, ' ');
        for (auto &c : text) c = alphabet[random() % alphabet.size()];
        check(text);
    }
    // Valid addresses in every spelling: shortest form, full, leading zeros,
    // upper case, with a dotted quad, with "::" for one or more groups.
    for (int i = 0; i < 50000; ++i) {
        unsigned char bytes[16];
        for (auto &b : bytes) b = random() % 3 ? static_cast<unsigned char>(random()) : 0;
        char text[64];
        inet_ntop(AF_INET6, bytes, text, sizeof text);
        check(text);
        inet_ntop(AF_INET, bytes, text, sizeof text);
        check(text);
        std::string full;
        for (int g = 0; g < 8; ++g) {
            std::snprintf(text, sizeof text, random() % 2 ? "%04X" : "%x", bytes[2 * g] << 8 | bytes[2 * g + 1]);
            full += (g ? ":" : "") + std::string(text);
        }
        check(full);
        std::snprintf(text, sizeof text, "::%x:%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]);
        check(text);
        std::snprintf(text, sizeof text, "%x:%x::%x", bytes[0], bytes[1], bytes[2]);
        check(text);
    }
}
