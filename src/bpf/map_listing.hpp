// A filter's maps as C-like declarations, the way a filter declares them
// (libbpf style), with the struct, union and enum types they use: what
// --list-maps and the dry run print.
#pragma once

#include <string>
#include <string_view>

namespace alf {

class FilterObject;

std::string describe_maps(const FilterObject &filter);

// Whether a map is one of <alfwrapper/stats.h> (alf_stats, alf_log,
// alf_log_state): alfwrapper's own, in every filter, not a filter's input.
bool is_stats_map(std::string_view name);

}  // namespace alf
