#include "pipeline/delegated_limits.hpp"

#include "common/error.hpp"
#include "common/json_input.hpp"
#include "common/util.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace alf {

namespace {

std::uint64_t round8(std::uint64_t n) { return (n + 7) & ~std::uint64_t(7); }

std::string mib_text(std::uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

DelegatedLimits read_delegated_limits(const std::string &path) {
    DelegatedLimits limits;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return limits;
        throw system_error("delegated limits " + path, errno);
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
        throw Error("delegated limits " + path + ": only root may be able to write it (chown root and chmod go-w it); "
                    "until then a caller with delegated privileges is refused");
    nlohmann::json j = parse_json_input(read_file_text(path, "delegated limits", 1 << 16), "delegated limits " + path);
    if (!j.is_object()) throw Error("delegated limits " + path + ": expected {\"map_mib\": N, \"total_mib\": N}");
    for (auto it = j.begin(); it != j.end(); ++it) {
        std::uint64_t *field = it.key() == "map_mib" ? &limits.map_mib : it.key() == "total_mib" ? &limits.total_mib
                                                                                                 : nullptr;
        if (!field || !it.value().is_number_unsigned())
            throw Error("delegated limits " + path + ": /" + quote_input(it.key(), 60) +
                        ": expected \"map_mib\" or \"total_mib\" with a whole number of MiB");
        *field = it.value().get<std::uint64_t>();
    }
    return limits;
}

std::uint64_t estimated_map_bytes(const MapDescription &map, int possible_cpus) {
    std::uint64_t entries = map.max_entries, key = map.key_size, value = round8(map.value_size);
    std::uint64_t cpus = possible_cpus > 0 ? static_cast<std::uint64_t>(possible_cpus) : 1;
    bool percpu = map.type.starts_with("percpu") || map.type.find("_percpu") != std::string::npos;
    if (map.type == "array" || map.type == "percpu_array") return entries * value * (percpu ? cpus : 1);
    // Hash-like maps preallocate every element: a header (~48 bytes), the
    // key and the value (per CPU for the per-CPU kinds), and a bucket.
    std::uint64_t element = 48 + round8(key) + (percpu ? 8 + value * cpus : value);
    return entries * (element + 8);
}

void require_within_limits(const std::vector<MapDescription> &maps, const DelegatedLimits &limits,
                           int possible_cpus, const std::string &tool) {
    std::uint64_t total = 0;
    const std::string how = "with privileges delegated to " + tool + " (cap_bpf) the maps are bounded by " +
                            delegated_limits_path + " (root sets \"map_mib\" and \"total_mib\" there)";
    for (const auto &map : maps) {
        std::uint64_t bytes = estimated_map_bytes(map, possible_cpus);
        total += bytes;
        if (bytes > (limits.map_mib << 20))
            throw Error("map " + map.name + " (" + std::to_string(map.max_entries) + " entries) would take about " +
                        mib_text(bytes) + " of kernel memory, more than the " + std::to_string(limits.map_mib) +
                        " MiB a map may take: " + how + "; give it fewer entries with --map-size " + map.name + "=N");
    }
    if (total > (limits.total_mib << 20))
        throw Error("the filter's maps would take about " + mib_text(total) + " of kernel memory, more than the " +
                    std::to_string(limits.total_mib) + " MiB all of them may take: " + how);
}

}  // namespace alf
