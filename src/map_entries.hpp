// Map entries from the command line: --set MAP,KEY,VALUE.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

class FilterObject;

struct MapSetting {
    std::string map;
    std::string key;
    std::string value;
    bool has_value = false;
};

// Splits "MAP,KEY[,VALUE]"; a JSON key ({...} or [...]) may contain commas.
MapSetting parse_map_setting(std::string_view spec);

// Encodes each entry by its map's BTF types and writes it; returns the number
// of entries written per map in the order first seen.
std::vector<std::pair<std::string, std::size_t>> apply_map_settings(FilterObject &filter,
                                                                    const std::vector<MapSetting> &settings);

// Applies --map-size MAP=N options before load; returns the maps sized.
std::set<std::string> apply_map_sizes(FilterObject &filter, const std::vector<std::string> &specs);

}  // namespace alf
