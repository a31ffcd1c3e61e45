// alfctl list: the filters alfwrapper attached that run on this host, found
// in the kernel (bpf/program_metadata.hpp), with their maps' entry counts.
#pragma once

#include "bpf/program_metadata.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alf {

struct MapCount {
    std::string name;
    std::string type;
    std::uint64_t entries = 0;  // arrays: every slot exists
    std::uint32_t max_entries = 0;
};

struct ListedFilter {
    RunningFilter running;
    bool service_alive = false;  // the pid still runs
    std::vector<MapCount> maps;           // the filter's own: not the rule tables, counters or log
    std::optional<std::uint64_t> rules;  // rules in force, for a filter that takes rules
};

// Counting walks the keys: bounded, a huge map says "at least".
inline constexpr std::uint64_t count_max = 10'000'000;

// The map's type and how many entries it holds (an array: all its slots).
MapCount count_map(const std::string &name, std::uint32_t id);

// The running filters, of the services called `name` when it is not empty.
std::vector<ListedFilter> list_running_filters(const std::string &name);

std::string format_filter_list(const std::vector<ListedFilter> &filters);
nlohmann::json filter_list_json(const std::vector<ListedFilter> &filters);

}  // namespace alf
