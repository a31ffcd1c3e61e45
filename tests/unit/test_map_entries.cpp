// Map entries before load: files of entries, declared defaults, resizable
// maps, and the C-like listing of a filter's maps. No privileges needed:
// the filter is compiled and opened, never loaded.
#include "common/error.hpp"
#include "inputs/map_entries.hpp"
#include "inputs/map_file.hpp"
#include "bpf/map_listing.hpp"
#include "test_support.hpp"

#include <bpf/libbpf.h>
#include <doctest/doctest.h>

#include <string>

using namespace alf;

namespace {

const char *source = R"(
#include <alfwrapper/filter.h>
enum color { RED = 1, GREEN = 2 };
struct tag { char name[8]; enum color color; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct alf_ipv4_subnet); __type(value, __u8);
         __uint(max_entries, 2); __uint(map_flags, BPF_F_NO_PREALLOC); } blocked SEC(".maps");
ALF_MAP_DEFAULT_VALUE(blocked, 7);
ALF_MAP_RESIZABLE(blocked);
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct tag); __type(value, enum color);
         __uint(max_entries, 2); } tags SEC(".maps");
ALF_MAP_DEFAULT_VALUE(tags, GREEN);
SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
)";

std::string write_temp(const std::string &name, const std::string &text) {
    static TempDir dir("alf-entries");
    return dir.write(name, text);
}

FilterObject open_filter() { return compile_test_filter(source, "entries.c"); }

using Bytes = std::vector<std::uint8_t>;

}  // namespace

TEST_CASE("entry files: text lines and JSON") {
    std::string text = write_temp("tags.txt", "# name and colour\n"
                                              "{\"name\": \"a#b\", \"color\": \"RED\"}   RED  # '#' inside JSON stays\n"
                                              "\n"
                                              "  {\"name\": \"c\"}\n");
    auto entries = read_map_file("tags=" + text);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].key == "{\"name\": \"a#b\", \"color\": \"RED\"}");
    CHECK(entries[0].value == "RED");
    CHECK(entries[0].origin == text + ":2");
    CHECK_FALSE(entries[1].has_value);
    CHECK(entries[1].origin == text + ":4");

    std::string json = write_temp("tags.json", R"([[{"name": "x"}, 1], {"key": {"name": "y"}}, "10.0.0.0/8"])");
    entries = read_map_file("tags=" + json);
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].key == R"({"name":"x"})");
    CHECK(entries[0].value == "1");
    CHECK_FALSE(entries[1].has_value);
    CHECK(entries[2].key == "10.0.0.0/8");
    CHECK(entries[2].origin == json + "[2]");

    // A text file may begin with a JSON key: it is not taken for a JSON file.
    std::string arrays = write_temp("arrays.txt", "[1,2,3,4] 5\n");
    entries = read_map_file("m=" + arrays);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].key == "[1,2,3,4]");
}

TEST_CASE("an omitted VALUE takes the filter's declared default; a resizable map grows") {
    FilterObject filter = open_filter();
    std::vector<MapSetting> settings;
    for (const char *spec : {"blocked,10.0.0.0/8", "blocked,192.168.0.0/16,3", "blocked,172.16.0.0/12",
                             "tags,{\"name\":\"web\"}"})
        settings.push_back(parse_map_setting(spec));
    auto maps = encode_map_settings(filter, settings, {});
    REQUIRE(maps.size() == 2);
    CHECK(maps[0].name == "blocked");
    CHECK(maps[0].values == std::vector<Bytes>{{7}, {3}, {7}});
    CHECK(maps[0].note == "map blocked: raised from 2 to 3 entries for 3 distinct keys");
    CHECK(bpf_map__max_entries(filter.find_map("blocked")) == 3);
    CHECK(maps[1].values == std::vector<Bytes>{{2, 0, 0, 0}});  // GREEN

    // The user's --map-size is kept: too many entries are an error then.
    FilterObject sized = open_filter();
    auto user_sized = apply_map_sizes(sized, {"blocked=2"});
    CHECK_THROWS_WITH_AS(encode_map_settings(sized, settings, user_sized),
                         "map blocked holds 2 entries, but the entries given need 3 distinct keys; raise its size "
                         "with --map-size blocked=3",
                         Error);
}

TEST_CASE("maps listed as C declarations") {
    FilterObject filter = open_filter();
    std::string listing = describe_maps(filter);
    INFO(listing);
    CHECK(listing.find("/* filter entries.c: 2 maps */") == 0);
    CHECK(listing.find("struct tag {\n\tchar name[8];\n\tenum color color;\n};") != std::string::npos);
    CHECK(listing.find("enum color { RED = 1, GREEN = 2 };") < listing.find("struct tag {"));
    CHECK(listing.find("struct {\n\t__uint(type, BPF_MAP_TYPE_LPM_TRIE);\n\t__type(key, struct alf_ipv4_subnet);"
                       "\t/* 8 bytes */\n\t__type(value, __u8);\t/* 1 byte */\n\t__uint(max_entries, 2);\n"
                       "\t__uint(map_flags, BPF_F_NO_PREALLOC);\n} blocked;\t/* VALUE may be omitted "
                       "(ALF_MAP_DEFAULT_VALUE); resizable */") != std::string::npos);
    CHECK(listing.find("} tags;\t/* VALUE may be omitted (ALF_MAP_DEFAULT_VALUE) */") != std::string::npos);
}
