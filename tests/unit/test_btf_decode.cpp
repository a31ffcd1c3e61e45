// Values decoded by BTF: every kind of type the encoder takes (the maps of
// tests/fuzz/typed_maps.c), encoded, decoded, and encoded again from the
// decoded text to the same bytes.
#include "bpf/btf_values.hpp"
#include "bpf/filter_object.hpp"
#include "common/util.hpp"
#include "inputs/map_file.hpp"
#include "test_support.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace alf;
using nlohmann::json;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct TypedMaps {
    FilterObject filter;

    static TypedMaps make() {
        std::string source =
            read_file_text(std::string(ALF_SOURCE_DIR) + "/tests/fuzz/typed_maps.c", "the typed maps' filter");
        return TypedMaps{compile_test_filter(source.c_str(), "typed_maps.c")};
    }

    struct Side {
        std::uint32_t type;
        std::size_t size;
        std::string path;
    };

    Side side(const char *map, bool key) {
        bpf_map *m = filter.find_map(map);
        return key ? Side{bpf_map__btf_key_type_id(m), bpf_map__key_size(m), std::string(map) + ".key"}
                   : Side{bpf_map__btf_value_type_id(m), bpf_map__value_size(m), std::string(map) + ".value"};
    }

    Bytes encode(const char *map, bool key, const std::string &text) {
        Side s = side(map, key);
        return encode_btf_value(filter.btf(), s.type, s.size, text, s.path);
    }

    json decode(const char *map, bool key, const Bytes &bytes) {
        return decode_btf_value(filter.btf(), side(map, key).type, bytes);
    }

    // Encodes text, decodes the bytes, checks the encoder takes the decoded
    // value back to the same bytes; returns the decoded value.
    json round_trip(const char *map, bool key, const std::string &text) {
        INFO(map << (key ? " key " : " value ") << text);
        Bytes bytes = encode(map, key, text);
        json decoded = decode(map, key, bytes);
        INFO("decoded: " << decoded.dump());
        CHECK(encode(map, key, setting_text(decoded)) == bytes);
        return decoded;
    }
};

constexpr bool key = true, value = false;

}  // namespace

TEST_CASE("decoded values are what the encoder takes back") {
    TypedMaps maps = TypedMaps::make();

    SUBCASE("subnets and addresses as text") {
        CHECK(maps.round_trip("subnets4", key, "10.1.0.0/16") == "10.1.0.0/16");
        CHECK(maps.round_trip("subnets4", key, "subnet4:127.0.0.1/24") == "127.0.0.0/24");
        CHECK(maps.round_trip("subnets4", key, "192.0.2.7") == "192.0.2.7/32");
        CHECK(maps.round_trip("subnets4", value, "fd00::/8") == "fd00::/8");
        CHECK(maps.round_trip("subnets4", value, "::/0") == "::/0");
        CHECK(maps.round_trip("addresses", key, "192.0.2.7") == "192.0.2.7");
        CHECK(maps.round_trip("addresses", value, "2001:db8::7") == "2001:db8::7");
    }
    SUBCASE("ports as numbers, interfaces by name or else by index") {
        CHECK(maps.round_trip("ports", key, "8080") == 8080);
        CHECK(maps.round_trip("ports", key, "port:65535") == 65535);
        CHECK(maps.round_trip("ports", value, "lo") == "lo");
        CHECK(maps.round_trip("ports", value, "4000000") == 4000000);
    }
    SUBCASE("enums by name, a number that is an enumerator's by its name") {
        CHECK(maps.round_trip("colours", key, "GREEN") == "GREEN");
        CHECK(maps.round_trip("colours", key, "NEGATIVE") == "NEGATIVE");
        CHECK(maps.round_trip("colours", key, "-3") == "NEGATIVE");
        CHECK(maps.round_trip("colours", key, "40000") == "BLUE");
        CHECK(maps.round_trip("colours", value, "LARGE") == "LARGE");
    }
    SUBCASE("integers of each size and sign, big-endian ones in host terms, bool") {
        CHECK(maps.round_trip("signed_keys", key, "-9223372036854775808") == INT64_MIN);
        CHECK(maps.round_trip("signed_keys", key, "int64_t:9223372036854775807") == INT64_MAX);
        CHECK(maps.round_trip("signed_keys", value, "-1") == -1);
        CHECK(maps.round_trip("signed_keys", value, "0x7f") == 127);
        CHECK(maps.round_trip("names", value, "0x0a000001") == 0x0a000001);
        CHECK(maps.round_trip("ranges", value, "true") == true);
        CHECK(maps.round_trip("ranges", value, "0") == false);
        CHECK(maps.round_trip("records", key, "uint32_t:4294967295") == 4294967295u);
    }
    SUBCASE("char arrays as strings when they hold one, else as bytes") {
        CHECK(maps.round_trip("names", key, "eth0") == "eth0");
        CHECK(maps.round_trip("names", key, "[104,105]") == "hi");
        CHECK(maps.round_trip("names", key, "a b#c{") == "a b#c{");
        // All 16 bytes used (no NUL): no C string, so bytes.
        json full = maps.round_trip("names", key, "[65,65,65,65,65,65,65,65,65,65,65,65,65,65,65,65]");
        CHECK(full.is_array());
        CHECK(full.size() == 16);
        // Text the encoder would read as a type prefix or JSON stays bytes.
        CHECK(maps.round_trip("names", key, "[112,111,114,116,58,56,48]").is_array());  // "port:80"
        CHECK(maps.round_trip("names", key, "[91,93]").is_array());                    // "[]"
        CHECK(maps.round_trip("names", key, "[104,0,105]").is_array());                // a byte after the NUL
        CHECK(maps.round_trip("names", key, "[-56]").is_array());                      // not printable
        CHECK(maps.round_trip("names", key, "[0]") == "");
    }
    SUBCASE("arrays, nested structs, port ranges") {
        CHECK(maps.round_trip("matrix", key, "[[1,2,3],[4,5,6]]") == json::parse("[[1,2,3],[4,5,6]]"));
        CHECK(maps.round_trip("matrix", value, R"({"address": "2001:db8::1", "port": 443, "flow": 7})") ==
              json{{"address", "2001:db8::1"}, {"port", 443}, {"flow", 7}});
        CHECK(maps.round_trip("ranges", key, R"({"first": 80})") == json{{"first", 80}, {"last", 80}});
        CHECK(maps.round_trip("ranges", key, R"({"first": 1024, "last": 65535})") ==
              json{{"first", 1024}, {"last", 65535}});
    }
    SUBCASE("a struct of every kind; its zero fields, of any type, are taken back") {
        const std::string record = R"({"u8": 255, "s8": -128, "u16": 65535, "s16": -2, "u32": 4000000000,
            "s32": -5, "u64": 18446744073709551615, "s64": -9223372036854775807, "flag": true, "be16": 4660,
            "be64": 1311768467294899695, "colour": "BLUE", "tiny": "SMALL", "name": "eth0", "list": [1, 2, 3],
            "peers": [{"address": "2001:db8::1", "port": 443, "flow": 7}, {"address": "::1", "port": 80}],
            "range": {"first": 80, "last": 90}, "interface": "lo", "either": {"word": 16909060}})";
        Bytes bytes = maps.encode("records", value, record);
        json decoded = maps.decode("records", value, bytes);
        json expected = json::parse(record);
        expected["peers"][1]["flow"] = 0;
        expected["either"]["bytes"] = {4, 3, 2, 1};
        expected["bits"] = 0;
        expected["more_bits"] = 0;
        expected["pointer"] = 0;
        CHECK(decoded == expected);
        CHECK(maps.encode("records", value, setting_text(decoded)) == bytes);
        // Nothing given: zero ports, enums without a zero enumerator, bit
        // fields and pointers all decode to 0, which the encoder takes back.
        json zero = maps.round_trip("records", value, "{}");
        CHECK(zero["range"] == json{{"first", 0}, {"last", 0}});
        CHECK(zero["colour"] == 0);
        CHECK(zero["peers"][0]["port"] == 0);
        CHECK(error_of([&] { maps.encode("records", value, R"({"bits": 1})"); }).find("bit fields cannot be set") !=
              std::string::npos);
    }
}

TEST_CASE("decoded entries, as alfctl map dump --json lists them, are what --set-file reads") {
    TypedMaps maps = TypedMaps::make();
    const std::vector<std::pair<std::string, std::string>> given = {
        {R"({"first": 22})", "true"}, {R"({"first": 8000, "last": 8099})", "0"}};
    json entries = json::array();
    for (const auto &[key_text, value_text] : given)
        entries.push_back({{"key", maps.decode("ranges", key, maps.encode("ranges", key, key_text))},
                           {"value", maps.decode("ranges", value, maps.encode("ranges", value, value_text))}});
    auto settings = map_entries_from_json("ranges", "dump.json", entries);
    REQUIRE(settings.size() == given.size());
    for (std::size_t i = 0; i < given.size(); ++i) {
        CHECK(maps.encode("ranges", key, settings[i].key) == maps.encode("ranges", key, given[i].first));
        CHECK(maps.encode("ranges", value, settings[i].value) ==
              maps.encode("ranges", value, given[i].second));
    }
}

TEST_CASE("decoding bit fields, unknown enumerators, short bytes, no BTF") {
    FilterObject filter = compile_test_filter(R"(
#include <alfwrapper/filter.h>
enum mode { OFF, ON };
struct flags { __u32 low : 3, high : 5; __s32 negative : 4; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, enum mode); __type(value, struct flags);
         __uint(max_entries, 4); } m SEC(".maps");
SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
)",
                                              "bits.c");
    bpf_map *m = filter.find_map("m");
    const struct btf *btf = filter.btf();
    // low = 5, high = 17, negative = -3: the fields packed from bit 0.
    CHECK(decode_btf_value(btf, bpf_map__btf_value_type_id(m), Bytes{5 | 17 << 3, 0x0d, 0, 0}) ==
          json{{"low", 5}, {"high", 17}, {"negative", -3}});
    CHECK(decode_btf_value(btf, bpf_map__btf_key_type_id(m), Bytes{1, 0, 0, 0}) == "ON");
    CHECK(decode_btf_value(btf, bpf_map__btf_key_type_id(m), Bytes{7, 0, 0, 0}) == 7);
    CHECK(error_of([&] { decode_btf_value(btf, bpf_map__btf_key_type_id(m), Bytes{1, 0}); })
              .find("more than the 2 there are") != std::string::npos);
    CHECK(decode_btf_value(nullptr, 0, Bytes{1, 1, 0, 0}) == 257);
    CHECK(decode_btf_value(nullptr, 0, Bytes(9, 1)) == json(std::vector<int>(9, 1)));
}
