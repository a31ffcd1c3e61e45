#include "inputs/map_file.hpp"

#include "bpf/btf_values.hpp"
#include "common/error.hpp"
#include "common/json_input.hpp"
#include "common/util.hpp"

#include <nlohmann/json.hpp>

namespace alf {

using nlohmann::json;

std::vector<MapSetting> map_entries_from_json(const std::string &map, const std::string &path, const json &entries) {
    std::vector<MapSetting> settings;
    const std::string shape = "expected [key, value], {\"key\": ..., \"value\": ...} or a bare key";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const json &entry = entries[i];
        MapSetting s;
        s.map = map;
        s.origin = path + "[" + std::to_string(i) + "]";
        if (entry.is_array()) {
            if (entry.size() != 2 && entry.size() != 1)
                throw Error(s.origin + ": an array of " + std::to_string(entry.size()) + " elements; " + shape);
            s.key = setting_text(entry[0]);
            if (entry.size() == 2) s.value = setting_text(entry[1]), s.has_value = true;
        } else if (entry.is_object() && entry.contains("key")) {
            for (auto it = entry.begin(); it != entry.end(); ++it)
                if (it.key() != "key" && it.key() != "value")
                    throw Error(s.origin + ": unknown member '" + it.key() + "'; " + shape);
            s.key = setting_text(entry["key"]);
            if (entry.contains("value")) s.value = setting_text(entry["value"]), s.has_value = true;
        } else if (entry.is_string() || entry.is_number()) {
            s.key = setting_text(entry);
        } else {
            throw Error(s.origin + ": " + std::string(entry.type_name()) + " " + entry.dump() + "; " + shape);
        }
        settings.push_back(std::move(s));
    }
    return settings;
}

namespace {

std::vector<MapSetting> read_text_entries(const std::string &map, const std::string &path, std::string_view text) {
    std::vector<MapSetting> settings;
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    std::size_t line_number = 0;
    while (!text.empty()) {
        auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;
        // '#' starts a comment at the start of a line or after a blank, so a
        // JSON string may still hold one.
        for (std::size_t i = 0; i < line.size(); ++i)
            if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) {
                line = line.substr(0, i);
                break;
            }
        while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
        while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
        if (line.empty()) continue;
        MapSetting s;
        s.map = map;
        s.origin = path + ":" + std::to_string(line_number);
        std::size_t key_end = 0;
        if (line[0] == '{' || line[0] == '[')
            key_end = json_extent(line);
        else
            while (key_end < line.size() && !is_space(line[key_end])) ++key_end;
        s.key = std::string(line.substr(0, key_end));
        std::string_view rest = line.substr(std::min(key_end, line.size()));
        if (!rest.empty() && !is_space(rest.front()))
            throw Error(s.origin + ": '" + std::string(line) + "': expected KEY [VALUE] separated by blanks");
        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        if (!rest.empty()) s.value = std::string(rest), s.has_value = true;
        settings.push_back(std::move(s));
    }
    return settings;
}

}  // namespace

std::vector<MapSetting> read_map_file(const std::string &spec) {
    auto equals = spec.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == spec.size())
        throw Error("--set-file '" + spec + "': expected MAP=PATH (e.g. --set-file allow4=networks.txt)");
    std::string map = spec.substr(0, equals), path = spec.substr(equals + 1);
    std::vector<std::uint8_t> bytes = read_file_bytes(path, "--set-file " + map + ":");
    std::string_view text(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    auto first = text.find_first_not_of(" \t\r\n");
    bool json_named = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    // A text file may start with a JSON key ("[1,2] 3"): JSON is the whole
    // file parsing as one array, or a file named *.json.
    if (json_named || (first != std::string_view::npos && text[first] == '[')) {
        json entries;
        try {
            entries = parse_json_input(text, path);
        } catch (const Error &) {
            if (json_named) throw;
        }
        if (entries.is_array()) return map_entries_from_json(map, path, entries);
        if (json_named)
            throw Error(path + ": expected a JSON array of entries, found a JSON " + std::string(entries.type_name()));
    }
    return read_text_entries(map, path, text);
}

}  // namespace alf
