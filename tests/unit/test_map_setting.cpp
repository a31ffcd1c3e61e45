#include "common/error.hpp"
#include "inputs/map_entries.hpp"

#include <doctest/doctest.h>

using namespace alf;

TEST_CASE("--set MAP,KEY,VALUE splits on the first two commas") {
    auto s = parse_map_setting("allow4,uint32_t:0,subnet4:127.0.0.1/24");
    CHECK(s.map == "allow4");
    CHECK(s.key == "uint32_t:0");
    CHECK(s.value == "subnet4:127.0.0.1/24");
    CHECK(s.has_value);

    s = parse_map_setting("allow6,0,subnet6:::1/128");
    CHECK(s.value == "subnet6:::1/128");

    s = parse_map_setting("m,{\"a\":1,\"b\":[2,3]},{\"x\":\"y,z\"}");
    CHECK(s.key == "{\"a\":1,\"b\":[2,3]}");
    CHECK(s.value == "{\"x\":\"y,z\"}");

    s = parse_map_setting("set,10.0.0.0/8");
    CHECK_FALSE(s.has_value);
}

TEST_CASE("malformed --set") {
    for (const char *bad : {"", "allow4", ",0,1", "allow4,,1", "allow4,0,", "m,{\"a\":1}x,2"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_map_setting(bad), Error);
    }
}
