// --config FILE.json: the command line's settings as JSON.
//
// Every long option is a key: a flag takes true/false, an option with a
// value takes a string or a number, a repeatable option takes an array (or
// one value, or an object whose members become NAME=VALUE items, as for
// "define", "map-size", "set-file"). Two keys have no option: "maps", map
// entries as JSON ({"MAP": [[key, value], {"key": k, "value": v}, key, ...]}),
// and "command", the program and its arguments. Relative paths are taken
// from the file's directory. Unknown keys and values of the wrong shape are
// errors naming the key and its place.
#pragma once

#include "inputs/map_entries.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alf {

enum class OptionKind { unknown, flag, value, list };

struct ConfigSettings {
    // Long option name and its values (a set flag has none).
    std::vector<std::pair<std::string, std::vector<std::string>>> options;
    std::vector<MapSetting> map_entries;  // "maps"
    std::vector<std::string> command;     // "command"
};

// kind_of tells which options exist and what they take (the command line's
// option table); options that make no sense in a file ("config", "help",
// "version") must answer unknown.
ConfigSettings read_config(const std::string &path, const std::function<OptionKind(std::string_view)> &kind_of);

}  // namespace alf
