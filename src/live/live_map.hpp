// alfctl map: the maps of a running service's filter, listed, read and
// changed while it runs. Keys and values are written as --set writes them
// and shown decoded, both by the map's BTF types (bpf/btf_values.hpp). An
// error changes nothing; the maps alfwrapper fills or reads itself (the rule
// tables, the counters and the drop log, its record of the service, the
// filter's global data) are read-only here.
#pragma once

#include "bpf/program_metadata.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alf {

enum class MapAction { list, dump, get, set, remove };

struct MapRequest {
    MapAction action = MapAction::list;
    std::string map;                   // all but list
    std::string key;                   // get, set, remove
    std::optional<std::string> value;  // set; none: the default the filter declares (ALF_MAP_DEFAULT_VALUE)
};

// Parses "[MAP [dump | get KEY | set KEY [VALUE] | delete KEY]]" (MAP alone
// dumps it); throws Error naming the problem.
MapRequest parse_map_request(const std::vector<std::string> &words);

struct MapOverview {
    std::string name;
    std::uint32_t id = 0;
    std::string type;                  // "hash", "percpu_array", ...
    std::string key_type, value_type;  // C-like, from BTF ("4 bytes" without)
    std::uint32_t max_entries = 0;
    std::uint64_t entries = 0;
    bool per_cpu = false;
    bool array = false;     // its entries always exist: deleting one zeroes it
    std::string read_only;  // why it cannot be changed here (and what can change it); empty: it can
};

struct MapEntry {
    nlohmann::json key;
    std::vector<nlohmann::json> values;  // one, or one per possible CPU
    std::optional<nlohmann::json> sum;   // per-CPU integers (or structs of them): the sum over the CPUs
};

struct MapOutcome {
    std::string service;  // describe_service()
    std::string name;
    long pid = 0;
    std::string filter;   // as the service was started with it
    MapRequest request;
    std::vector<MapOverview> maps;     // list: every map; otherwise the one acted on
    std::vector<MapEntry> entries;     // dump: all; get, set: the entry; remove: the entry deleted
    std::optional<MapEntry> previous;  // set: the entry it replaced
};

// Carries out the request on the service's filter (list, dump, get: reads only).
MapOutcome apply_map_request(const RunningFilter &service, const MapRequest &request);

std::string format_map_outcome(const MapOutcome &outcome);
nlohmann::json map_outcome_json(const MapOutcome &outcome);

}  // namespace alf
