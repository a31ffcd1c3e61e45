// Map entries from the command line: --set MAP,KEY[,VALUE], --set-file
// MAP=PATH (read by map_file), --map-size MAP=N. Entries are encoded by the
// map's BTF types and checked against its size before the filter is loaded,
// and written after.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct bpf_map;

namespace alf {

class FilterObject;

// One entry as the user wrote it.
struct MapSetting {
    std::string map;
    std::string key;
    std::string value;
    bool has_value = false;
    std::string origin;  // where it was written, for errors: "--set ...", "hosts.txt:3"
};

// Splits "MAP,KEY[,VALUE]"; a JSON key ({...} or [...]) may contain commas.
MapSetting parse_map_setting(std::string_view spec);

// Length of the JSON value at the start of text, by bracket matching
// (strings respected); all of text if it never closes.
std::size_t json_extent(std::string_view text);

// Applies --map-size MAP=N options before load; returns the maps sized.
std::set<std::string> apply_map_sizes(FilterObject &filter, const std::vector<std::string> &specs);

struct EncodedMap {
    std::string name;
    std::vector<std::vector<std::uint8_t>> keys, values;
    std::string note;  // for verbose output (e.g. the size was raised)
    std::vector<std::string> warnings;  // e.g. a key given twice
};

// Before load: encodes every entry by its map's BTF types (an omitted VALUE
// takes the default the filter declares with ALF_MAP_DEFAULT_VALUE) and
// checks that each map can hold its entries. A map the filter declares
// ALF_MAP_RESIZABLE and the user did not size (`user_sized`) is raised to
// fit; otherwise too many entries is an error naming --map-size.
std::vector<EncodedMap> encode_map_settings(FilterObject &filter, const std::vector<MapSetting> &settings,
                                            const std::set<std::string> &user_sized);

// After the entries are written into a map taken over from a running filter:
// removes every other entry (an array's are zeroed), so the map holds this
// run's entries and no moment holds neither the old nor the new ones.
void remove_other_entries(FilterObject &filter, const EncodedMap &kept);

// After load: writes the entries.
void write_map_entries(FilterObject &filter, const std::vector<EncodedMap> &maps);

}  // namespace alf
