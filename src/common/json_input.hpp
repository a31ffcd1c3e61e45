// JSON written by the user (config files, map files, struct values), parsed
// with bounds: a nesting depth no real input needs (deeper documents would
// overflow the stack of whatever walks them) and numbers that fit a double.
#pragma once

#include "common/util.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace alf {

inline constexpr int json_max_depth = 64;

// Throws Error "WHAT: not valid JSON: ..." / "WHAT: JSON nested deeper than 64 levels".
nlohmann::json parse_json_input(std::string_view text, const std::string &what);

}  // namespace alf
