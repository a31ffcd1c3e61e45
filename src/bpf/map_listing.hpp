// A filter's maps as C-like declarations, the way a filter declares them
// (libbpf style), with the struct, union and enum types they use: what
// --list-maps and the dry run print.
#pragma once

#include <string>
#include <string_view>

namespace alf {

class FilterObject;

std::string describe_maps(const FilterObject &filter);

// A map that alfwrapper fills and reads itself (the rule tables and list of
// <alfwrapper/rules.h>, the counters and log of <alfwrapper/stats.h>), not
// a filter's input: which alfctl verb shows or changes it, and what it holds.
struct OwnMap {
    const char *name;
    const char *verb;  // "rules", "stats", "log"
    const char *what;
};

// The map of that name, or nullptr when it is the filter's own.
const OwnMap *alfwrapper_map(std::string_view name);

// Whether a map is one of <alfwrapper/stats.h> (alf_stats, alf_log,
// alf_log_state): in every filter, so left out of its map listings.
bool is_stats_map(std::string_view name);

}  // namespace alf
