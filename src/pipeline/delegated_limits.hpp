// How much kernel memory a caller with delegated privileges (a cap_bpf copy
// of alfwrapper run by any user) may have the filter's maps take: map memory
// is locked kernel memory held for as long as the service runs, so each map
// and all of them together are bounded. Root sets the bounds in a file only
// root can write; the defaults keep a machine safe.
#pragma once

#include "bpf/filter_object.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace alf {

struct DelegatedLimits {
    std::uint64_t map_mib = 64;     // one map
    std::uint64_t total_mib = 256;  // all maps of one filter
};

inline constexpr const char *delegated_limits_path = "/etc/alfwrapper/limits.json";

// The bounds from `path` ({"map_mib": N, "total_mib": N}, both optional), or
// the defaults when there is no such file. Throws Error when the file could
// have been written by someone else than root, or does not parse.
DelegatedLimits read_delegated_limits(const std::string &path = delegated_limits_path);

// An upper estimate of the kernel memory a map takes at its size.
std::uint64_t estimated_map_bytes(const MapDescription &map, int possible_cpus);

// Throws Error naming the map (or the total), its estimate and the bound.
void require_within_limits(const std::vector<MapDescription> &maps, const DelegatedLimits &limits,
                           int possible_cpus, const std::string &tool);

}  // namespace alf
