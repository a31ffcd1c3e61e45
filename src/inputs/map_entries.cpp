#include "inputs/map_entries.hpp"

#include "bpf/btf_values.hpp"
#include "common/error.hpp"
#include "common/json_input.hpp"
#include "bpf/filter_object.hpp"
#include "common/net_address.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

namespace alf {

namespace {

bool is_array_map(bpf_map *map) {
    switch (bpf_map__type(map)) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
        return true;
    default:
        return false;
    }
}

bool is_percpu_map(bpf_map *map) {
    auto type = bpf_map__type(map);
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// How many entries the map must hold for these keys: distinct keys, or for
// an array the highest index plus one.
std::size_t entries_needed(bpf_map *map, const std::vector<std::vector<std::uint8_t>> &keys) {
    if (is_array_map(map)) {
        std::uint32_t highest = 0;
        for (const auto &key : keys) {
            std::uint32_t index = 0;
            std::memcpy(&index, key.data(), std::min<std::size_t>(key.size(), sizeof index));
            highest = std::max(highest, index);
        }
        return keys.empty() ? 0 : std::size_t(highest) + 1;
    }
    std::unordered_set<std::string> distinct;
    for (const auto &key : keys) distinct.emplace(key.begin(), key.end());
    return distinct.size();
}

}  // namespace

std::size_t json_extent(std::string_view text) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return i + 1;
        }
    }
    return text.size();
}

MapSetting parse_map_setting(std::string_view spec) {
    const std::string usage = "--set '" + std::string(spec) + "': expected MAP,KEY,VALUE (e.g. --set allow4,0,10.0.0.0/8)";
    auto comma = spec.find(',');
    if (comma == std::string_view::npos || comma == 0) throw Error(usage);
    MapSetting setting;
    setting.map = std::string(spec.substr(0, comma));
    setting.origin = "--set " + quote_input(spec, 120);
    std::string_view rest = spec.substr(comma + 1);
    std::size_t key_end = (!rest.empty() && (rest[0] == '{' || rest[0] == '[')) ? json_extent(rest) : rest.find(',');
    if (key_end == std::string_view::npos) key_end = rest.size();
    setting.key = std::string(rest.substr(0, key_end));
    if (setting.key.empty()) throw Error(usage + "; the key is empty");
    if (key_end < rest.size()) {
        if (rest[key_end] != ',') throw Error(usage + "; unexpected text after the key");
        setting.value = std::string(rest.substr(key_end + 1));
        setting.has_value = true;
        if (setting.value.empty()) throw Error(usage + "; the value is empty");
    }
    return setting;
}

namespace {

// "--set", or the file (or config place) an entry came from.
std::string source_of(const std::string &origin) {
    if (origin.starts_with("--set ")) return "--set";
    return origin.substr(0, origin.find_last_of(":["));
}

// A map the filter walks from slot 0 to the first empty one (ALF_MAP_SLOTS).
bool is_slot_list(const FilterObject &filter, const std::string &map) {
    return !filter.global_value("alf_slots__" + map).empty();
}

// The slots given must be 0, 1, ... without a gap: the filter stops at the
// first empty one, so an entry after a gap would never be seen.
void require_slots_without_gaps(const EncodedMap &encoded) {
    std::set<std::uint32_t> slots;
    for (const auto &key : encoded.keys) {
        std::uint32_t slot = 0;
        std::memcpy(&slot, key.data(), std::min(key.size(), sizeof slot));
        slots.insert(slot);
    }
    std::uint32_t expected = 0;
    for (std::uint32_t slot : slots) {
        if (slot != expected)
            throw Error("map " + encoded.name + ": slot " + std::to_string(slot) + " is set but slot " +
                        std::to_string(expected) + " is empty; the filter stops at the first empty slot, so fill "
                        "the slots from 0 without gaps");
        ++expected;
    }
}

}  // namespace

std::set<std::string> apply_map_sizes(FilterObject &filter, const std::vector<std::string> &specs) {
    std::set<std::string> sized;
    for (const auto &spec : specs) {
        auto equals = spec.find('=');
        if (equals == std::string::npos || equals == 0)
            throw Error("--map-size '" + spec + "': expected MAP=N (e.g. --map-size allow4=4096)");
        std::string map = spec.substr(0, equals);
        auto entries = with_context("--map-size " + spec, [&] {
            auto n = parse_unsigned(std::string_view(spec).substr(equals + 1), 0xffffffff, "a number of entries");
            if (n == 0) throw Error("a map holds at least 1 entry");
            return static_cast<std::uint32_t>(n);
        });
        with_context("--map-size " + spec, [&] {
            if (is_slot_list(filter, map))
                throw Error("the filter walks the map's slots in a loop of a fixed length (ALF_MAP_SLOTS): its "
                            "size is the filter's, not the command line's");
            filter.set_map_size(map, entries);
        });
        sized.insert(map);
    }
    return sized;
}

std::vector<EncodedMap> encode_map_settings(FilterObject &filter, const std::vector<MapSetting> &settings,
                                            const std::set<std::string> &user_sized) {
    std::vector<EncodedMap> maps;
    const struct btf *btf = filter.btf();
    // Where each key was given, per map: a key given twice in one source is
    // most likely a mistake (a later source overriding an earlier one is not).
    std::map<std::string, std::map<std::vector<std::uint8_t>, std::string>> given;
    for (const auto &setting : settings) {
        with_context(setting.origin, [&] {
            bpf_map *map = filter.find_map(setting.map);
            auto it = std::find_if(maps.begin(), maps.end(), [&](auto &m) { return m.name == setting.map; });
            EncodedMap &encoded = it != maps.end() ? *it : maps.emplace_back(EncodedMap{setting.map, {}, {}, {}, {}});
            encoded.keys.push_back(encode_btf_value(btf, bpf_map__btf_key_type_id(map), bpf_map__key_size(map),
                                                    setting.key, setting.map + ".key"));
            auto [earlier, first_time] = given[setting.map].emplace(encoded.keys.back(), setting.origin);
            if (!first_time) {
                if (source_of(earlier->second) == source_of(setting.origin))
                    encoded.warnings.push_back("map " + setting.map + ": key " + quote_input(setting.key, 80) +
                                               " is given twice (" + earlier->second + ", then " + setting.origin +
                                               "); the later entry wins");
                earlier->second = setting.origin;
            }
            if (setting.has_value) {
                encoded.values.push_back(encode_btf_value(btf, bpf_map__btf_value_type_id(map),
                                                          bpf_map__value_size(map), setting.value,
                                                          setting.map + ".value"));
                return;
            }
            std::vector<std::uint8_t> fallback = declared_default_value(filter, setting.map);
            if (fallback.empty() && bpf_map__value_size(map) > 0)
                throw Error("map " + setting.map + " needs a VALUE of type " +
                            describe_btf_type(btf, bpf_map__btf_value_type_id(map)) +
                            " after the key (the filter declares no default: ALF_MAP_DEFAULT_VALUE)");
            encoded.values.push_back(std::move(fallback));
        });
    }
    for (auto &encoded : maps) {
        bpf_map *map = filter.find_map(encoded.name);
        if (is_slot_list(filter, encoded.name)) require_slots_without_gaps(encoded);
        std::size_t needed = entries_needed(map, encoded.keys);
        std::uint32_t holds = bpf_map__max_entries(map);
        if (needed <= holds) continue;
        std::string what = is_array_map(map) ? "an index up to " + std::to_string(needed - 1)
                                             : std::to_string(needed) + " distinct keys";
        bool resizable = !filter.global_value("alf_resizable__" + encoded.name).empty();
        if (resizable && !user_sized.count(encoded.name) && needed <= 0xffffffff) {
            filter.set_map_size(encoded.name, static_cast<std::uint32_t>(needed));
            encoded.note = "map " + encoded.name + ": raised from " + std::to_string(holds) + " to " +
                           std::to_string(needed) + " entries for " + what;
            continue;
        }
        throw Error("map " + encoded.name + " holds " + std::to_string(holds) + " entries, but the entries given need " +
                    what + "; raise its size with --map-size " + encoded.name + "=" + std::to_string(needed));
    }
    return maps;
}

void remove_other_entries(FilterObject &filter, const EncodedMap &kept) {
    bpf_map *map = filter.find_map(kept.name);
    int fd = bpf_map__fd(map);
    std::set<std::vector<std::uint8_t>> wanted(kept.keys.begin(), kept.keys.end());
    if (is_array_map(map)) {
        int copies = is_percpu_map(map) ? libbpf_num_possible_cpus() : 1;
        std::size_t stride = (bpf_map__value_size(map) + 7) & ~std::size_t(7);
        std::vector<std::uint8_t> zero(copies > 1 ? stride * static_cast<std::size_t>(copies) : bpf_map__value_size(map));
        for (std::uint32_t index = 0; index < bpf_map__max_entries(map); ++index) {
            std::vector<std::uint8_t> key(bpf_map__key_size(map));
            std::memcpy(key.data(), &index, std::min(key.size(), sizeof index));
            if (!wanted.count(key) && bpf_map_update_elem(fd, &index, zero.data(), BPF_ANY) != 0)
                throw system_error("map " + kept.name + ": cannot remove the entries of the earlier run", errno);
        }
        return;
    }
    // Collected first: deleting while walking would restart the walk.
    std::vector<std::vector<std::uint8_t>> stale;
    std::vector<std::uint8_t> key(bpf_map__key_size(map)), next(key.size());
    const void *previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
        if (!wanted.count(next)) stale.push_back(next);
        key.swap(next);
        previous = key.data();
    }
    for (const auto &k : stale)
        if (bpf_map_delete_elem(fd, k.data()) != 0 && errno != ENOENT)
            throw system_error("map " + kept.name + ": cannot remove the entries of the earlier run", errno);
}

void write_map_entries(FilterObject &filter, const std::vector<EncodedMap> &maps) {
    for (const auto &encoded : maps) {
        bpf_map *map = filter.find_map(encoded.name);
        // A per-CPU map takes one value for each possible CPU, each 8-byte aligned.
        int copies = is_percpu_map(map) ? libbpf_num_possible_cpus() : 1;
        if (copies < 1) throw system_error("map " + encoded.name + ": cannot count the CPUs", -copies);
        for (std::size_t i = 0; i < encoded.keys.size(); ++i) {
            std::vector<std::uint8_t> value = encoded.values[i];
            if (copies > 1) {
                std::size_t stride = (value.size() + 7) & ~std::size_t(7);
                value.assign(stride * static_cast<std::size_t>(copies), 0);
                for (int cpu = 0; cpu < copies; ++cpu)
                    std::copy(encoded.values[i].begin(), encoded.values[i].end(),
                              value.begin() + static_cast<std::ptrdiff_t>(stride * static_cast<std::size_t>(cpu)));
            }
            update_map_entry(map, encoded.keys[i], value);
        }
    }
}

}  // namespace alf
