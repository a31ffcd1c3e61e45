// --set-file MAP=PATH: many map entries from a file, as text lines
// ("KEY [VALUE]", '#' comments) or as JSON (an array of [key, value] pairs,
// of {"key": ..., "value": ...} objects, or of bare keys).
#pragma once

#include "inputs/map_entries.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace alf {

// Reads the entries of "MAP=PATH"; each carries its place ("hosts.txt:3",
// "hosts.json[2]") for errors. Throws Error naming the file and line.
std::vector<MapSetting> read_map_file(const std::string &spec);

// Entries of `map` from a JSON array of [key, value] pairs, {"key": ...,
// "value": ...} objects or bare keys; entry i's place is origin + "[i]".
std::vector<MapSetting> map_entries_from_json(const std::string &map, const std::string &origin,
                                              const nlohmann::json &entries);

}  // namespace alf
