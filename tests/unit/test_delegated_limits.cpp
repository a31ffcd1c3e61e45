// What a caller with delegated privileges may have the maps take.
#include "common/error.hpp"
#include "pipeline/delegated_limits.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace alf;

namespace {

MapDescription map(const std::string &type, std::uint32_t key, std::uint32_t value, std::uint32_t entries) {
    return MapDescription{"m", type, "", "", key, value, entries};
}

std::string error_of(const std::vector<MapDescription> &maps, const DelegatedLimits &limits) {
    try {
        require_within_limits(maps, limits, 2, "alfwrapper");
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("map memory estimates grow with entries, values and CPUs") {
    CHECK(estimated_map_bytes(map("array", 4, 4, 1024), 2) == 1024 * 8);
    CHECK(estimated_map_bytes(map("percpu_array", 4, 8, 1024), 4) == 1024 * 8 * 4);
    CHECK(estimated_map_bytes(map("hash", 20, 8, 1000), 2) > 1000 * 28);
    CHECK(estimated_map_bytes(map("lru_percpu_hash", 20, 8, 1000), 8) >
          estimated_map_bytes(map("lru_hash", 20, 8, 1000), 8));
}

TEST_CASE("a map or all maps past their bound are refused with the way out") {
    DelegatedLimits limits;  // 64 MiB a map, 256 MiB in all
    CHECK(error_of({map("lru_hash", 20, 8, 100000)}, limits).empty());
    std::string one = error_of({map("lru_hash", 20, 8, 20000000)}, limits);
    CHECK(one.find("map m (20000000 entries) would take about") == 0);
    CHECK(one.find("--map-size m=N") != std::string::npos);
    std::vector<MapDescription> many(5, map("array", 4, 8, 7000000));  // 5 x 53 MiB
    CHECK(error_of(many, limits).find("the filter's maps would take about") == 0);
    CHECK(error_of(many, {.map_mib = 64, .total_mib = 1024}).empty());
}

TEST_CASE("without a limits file the defaults hold") {
    DelegatedLimits limits = read_delegated_limits("/nonexistent/alfwrapper-limits.json");
    CHECK(limits.map_mib == 64);
    CHECK(limits.total_mib == 256);
}
