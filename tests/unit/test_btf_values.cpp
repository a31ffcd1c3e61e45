// Values typed by BTF: compile a filter in-process, open it with libbpf (no
// load, so no privileges needed) and encode values against its maps' types.
#include "bpf/btf_values.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "test_support.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>

using namespace alf;

namespace {

const char *typed_filter = R"(
#include <alfwrapper/filter.h>
enum color { RED = 1, GREEN = 2, BLUE = 40000 };
struct inner { __u8 a; __be16 port; };
struct key { __u32 id; struct inner in; char name[8]; __s16 delta; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct key); __type(value, enum color);
         __uint(max_entries, 4); } m1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct alf_ipv4_subnet);
         __type(value, struct alf_ipv6_subnet); __uint(max_entries, 4); } m2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, alf_port_t);
         __uint(max_entries, 4); } m3 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u8[4]); __type(value, __be32);
         __uint(max_entries, 4); } m4 SEC(".maps");
SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
)";

struct Fixture {
    FilterObject filter;

    static Fixture make() { return Fixture{compile_test_filter(typed_filter, "typed.c")}; }

    std::vector<std::uint8_t> key(const char *map, const char *text) {
        bpf_map *m = filter.find_map(map);
        return encode_btf_value(filter.btf(), bpf_map__btf_key_type_id(m), bpf_map__key_size(m), text, std::string(map) + ".key");
    }
    std::vector<std::uint8_t> value(const char *map, const char *text) {
        bpf_map *m = filter.find_map(map);
        return encode_btf_value(filter.btf(), bpf_map__btf_value_type_id(m), bpf_map__value_size(m), text,
                                std::string(map) + ".value");
    }
};

using Bytes = std::vector<std::uint8_t>;

}  // namespace

TEST_CASE("values typed by BTF") {
    Fixture f = Fixture::make();

    SUBCASE("the project's subnet types, plain and in the seed's typed form") {
        CHECK(f.key("m2", "10.1.0.0/16") == Bytes{16, 0, 0, 0, 10, 1, 0, 0});
        CHECK(f.key("m2", "subnet4:127.0.0.1/24") == Bytes{24, 0, 0, 0, 127, 0, 0, 0});
        Bytes v6 = f.value("m2", "subnet6:::1/128");
        CHECK(v6.size() == 20);
        CHECK(v6[0] == 128);
        CHECK(v6[19] == 1);
    }
    SUBCASE("integers, big-endian typedefs and ports") {
        CHECK(f.key("m3", "uint32_t:7") == Bytes{7, 0, 0, 0});
        CHECK(f.key("m3", "0x01020304") == Bytes{4, 3, 2, 1});
        CHECK(f.value("m3", "443") == Bytes{0x01, 0xbb});
        CHECK(f.value("m4", "0x0a000001") == Bytes{10, 0, 0, 1});
        CHECK(f.key("m4", "[1,2,3,4]") == Bytes{1, 2, 3, 4});
    }
    SUBCASE("structs, nested, with char arrays and signed fields; enums") {
        Bytes k = f.key("m1", R"({"id": 5, "in": {"a": 255, "port": 80}, "name": "eth0", "delta": -2})");
        REQUIRE(k.size() == 20);
        CHECK(k[0] == 5);
        CHECK(k[4] == 255);
        CHECK(k[6] == 0);
        CHECK(k[7] == 80);
        CHECK(std::string(k.begin() + 8, k.begin() + 12) == "eth0");
        CHECK(k[16] == 0xfe);
        CHECK(k[17] == 0xff);
        CHECK(f.value("m1", "GREEN") == Bytes{2, 0, 0, 0});
        CHECK(f.value("m1", "40000") == Bytes{0x40, 0x9c, 0, 0});
    }
    SUBCASE("errors name the place, the type and the text") {
        CHECK(error_of([&] { f.key("m3", "uint16_t:1"); }).find("does not match") != std::string::npos);
        CHECK(error_of([&] { f.key("m3", "-1"); }).find("negative") != std::string::npos);
        CHECK(error_of([&] { f.key("m3", "4294967296"); }).find("out of range") != std::string::npos);
        CHECK(error_of([&] { f.key("m2", "10.0.0.0/40"); }).find("m2.key") != std::string::npos);
        CHECK(error_of([&] { f.value("m1", "PURPLE"); }).find("RED, GREEN, BLUE") != std::string::npos);
        CHECK(error_of([&] { f.key("m1", R"({"id": 1, "nope": 2})"); }).find("no field 'nope'") != std::string::npos);
        CHECK(error_of([&] { f.key("m1", R"({"in": {"a": 256}})"); }).find("m1.key.in.a") != std::string::npos);
        CHECK(error_of([&] { f.key("m1", R"({"name": "much too long"})"); }).find("char[8]") != std::string::npos);
        CHECK(error_of([&] { f.key("m1", R"([1,2])"); }).find("JSON array") != std::string::npos);
        CHECK(error_of([&] { f.key("m1", R"({"id": )"); }).find("not valid JSON") != std::string::npos);
        CHECK(error_of([&] { f.value("m3", "0"); }).find("port") != std::string::npos);
        CHECK(error_of([&] { f.key("m4", "[1,2,3,4,5]"); }).find("5 elements") != std::string::npos);
    }
}
