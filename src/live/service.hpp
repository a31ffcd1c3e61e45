// The running service a live verb (alfctl rules, map, stats) acts on, named
// as alfctl list shows it: by its name (alfwrapper --name) or, when two
// services share one, by its pid.
#pragma once

#include "bpf/program_metadata.hpp"
#include "common/unique_fd.hpp"

#include <string>

namespace alf {

// The filter of the service called `name_or_pid`. Of two of that name, the
// one whose process runs, when the other's has exited (its filter lingers
// while connections close). Throws Error: no such service (listing the
// names that run), two running of that name (listing their pids), or
// programs cannot be listed (needs root).
RunningFilter find_service(const std::string &name_or_pid);

// Whether the service's process still runs (a filter outlives it while
// sockets hold it: kept by a socket unit, or connections still closing).
bool service_alive(const FilterMetadata &metadata);

// "service web (pid 123)"
std::string describe_service(const RunningFilter &service);

// A map of the service's filter, opened by name; nullopt-like invalid fd
// when the filter has no such map.
UniqueFd open_service_map(const RunningFilter &service, const std::string &map);

}  // namespace alf
