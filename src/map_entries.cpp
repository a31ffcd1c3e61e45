#include "map_entries.hpp"

#include "btf_values.hpp"
#include "error.hpp"
#include "loader.hpp"
#include "net_address.hpp"

#include <bpf/libbpf.h>

#include <algorithm>

namespace alf {

namespace {

// Length of a JSON value at the start of text, by bracket matching (strings respected).
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

}  // namespace

MapSetting parse_map_setting(std::string_view spec) {
    const std::string usage = "--set '" + std::string(spec) + "': expected MAP,KEY,VALUE (e.g. --set allow4,0,10.0.0.0/8)";
    auto comma = spec.find(',');
    if (comma == std::string_view::npos || comma == 0) throw Error(usage);
    MapSetting setting;
    setting.map = std::string(spec.substr(0, comma));
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

std::vector<std::pair<std::string, std::size_t>> apply_map_settings(FilterObject &filter,
                                                                    const std::vector<MapSetting> &settings) {
    std::vector<std::pair<std::string, std::size_t>> counts;
    for (const auto &setting : settings) {
        with_context("--set " + setting.map + "," + setting.key + (setting.has_value ? "," + setting.value : ""), [&] {
            bpf_map *map = filter.find_map(setting.map);
            const struct btf *btf = filter.btf();
            auto key = encode_btf_value(btf, bpf_map__btf_key_type_id(map), bpf_map__key_size(map), setting.key,
                                        setting.map + ".key");
            std::vector<std::uint8_t> value;
            if (setting.has_value) {
                value = encode_btf_value(btf, bpf_map__btf_value_type_id(map), bpf_map__value_size(map),
                                         setting.value, setting.map + ".value");
            } else if (bpf_map__value_size(map) > 0) {
                throw Error("map " + setting.map + " needs a value of type " +
                            describe_btf_type(btf, bpf_map__btf_value_type_id(map)) + " after the key");
            }
            update_map_entry(map, key, value);
        });
        auto it = std::find_if(counts.begin(), counts.end(), [&](auto &c) { return c.first == setting.map; });
        if (it == counts.end()) counts.emplace_back(setting.map, 1);
        else ++it->second;
    }
    return counts;
}

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
        with_context("--map-size " + spec, [&] { filter.set_map_size(map, entries); });
        sized.insert(map);
    }
    return sized;
}

}  // namespace alf
