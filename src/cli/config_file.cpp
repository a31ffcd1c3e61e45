#include "cli/config_file.hpp"

#include "common/error.hpp"
#include "common/json_input.hpp"
#include "common/util.hpp"
#include "inputs/map_file.hpp"

#include <nlohmann/json.hpp>


namespace alf {

namespace {

using nlohmann::json;

// A configuration is a page of settings; anything near this is not one.
constexpr std::size_t config_max_bytes = 16u << 20;

// Options whose values are paths (for "set-file", the part after '=').
bool is_path_option(std::string_view name) {
    return name == "filter" || name == "rules-file" || name == "include" || name == "set-file";
}

std::string resolve_path(const std::string &base_dir, const std::string &path) {
    if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
    return base_dir + "/" + path;
}

class ConfigReader {
public:
    ConfigReader(std::string path, const std::function<OptionKind(std::string_view)> &kind_of)
        : path_(std::move(path)), kind_of_(kind_of) {
        auto slash = path_.find_last_of('/');
        base_dir_ = slash == std::string::npos ? "" : path_.substr(0, slash);
    }

    ConfigSettings read() {
        std::string text = read_file_text(path_, "config", config_max_bytes);
        json root = parse_json_input(text, "config " + path_);
        if (!root.is_object()) fail("", "expected a JSON object of settings, found " + describe(root));
        ConfigSettings settings;
        for (auto it = root.begin(); it != root.end(); ++it) {
            const std::string &key = it.key();
            std::string place = "/" + key;
            if (key == "command") {
                settings.command = strings(it.value(), place, false);
                if (settings.command.empty()) fail(place, "the command is empty; give [\"PROGRAM\", \"ARGUMENT\", ...]");
            } else if (key == "maps") {
                read_maps(it.value(), place, settings.map_entries);
            } else {
                read_option(key, it.value(), place, settings);
            }
        }
        return settings;
    }

private:
    [[noreturn]] void fail(const std::string &place, const std::string &what) const {
        throw Error("config " + path_ + (place.empty() ? "" : ": " + place) + ": " + what);
    }

    static std::string describe(const json &j) { return std::string(j.is_null() ? "null" : "a JSON ") + (j.is_null() ? "" : j.type_name()); }

    // A scalar as option text: strings as they are, numbers in decimal.
    std::string scalar(const json &j, const std::string &place) const {
        if (j.is_string()) return j.get<std::string>();
        if (j.is_number_integer() || j.is_number_unsigned()) return j.dump();
        fail(place, "expected a string or an integer, found " + describe(j));
    }

    std::vector<std::string> strings(const json &j, const std::string &place, bool objects_as_pairs) const {
        std::vector<std::string> out;
        if (j.is_array()) {
            for (std::size_t i = 0; i < j.size(); ++i) out.push_back(scalar(j[i], place + "/" + std::to_string(i)));
        } else if (j.is_object() && objects_as_pairs) {
            for (auto it = j.begin(); it != j.end(); ++it)
                out.push_back(it.value().is_null() ? it.key() : it.key() + "=" + scalar(it.value(), place + "/" + it.key()));
        } else {
            out.push_back(scalar(j, place));
        }
        return out;
    }

    void read_option(const std::string &key, const json &value, const std::string &place, ConfigSettings &settings) const {
        OptionKind kind = kind_of_(key);
        std::vector<std::string> values;
        switch (kind) {
        case OptionKind::unknown:
            fail(place, "unknown key '" + key + "' (keys are the long options, e.g. \"allow\", \"filter\", \"set\", "
                        "and \"maps\", \"command\"; see alfwrapper --help)");
        case OptionKind::flag:
            if (!value.is_boolean()) fail(place, "expected true or false, found " + describe(value));
            if (!value.get<bool>()) return;
            break;
        case OptionKind::value:
            values.push_back(scalar(value, place));
            break;
        case OptionKind::list:
            values = strings(value, place, true);
            break;
        }
        if (is_path_option(key))
            for (auto &v : values) {
                if (key == "set-file") {
                    auto equals = v.find('=');
                    if (equals != std::string::npos) v = v.substr(0, equals + 1) + resolve_path(base_dir_, v.substr(equals + 1));
                } else if (key != "filter" || v.find('/') != std::string::npos || v.ends_with(".c") || v.ends_with(".o")) {
                    v = resolve_path(base_dir_, v);  // a built-in filter's name stays a name
                }
            }
        settings.options.emplace_back(key, std::move(values));
    }

    void read_maps(const json &maps, const std::string &place, std::vector<MapSetting> &out) const {
        if (!maps.is_object()) fail(place, "expected an object {\"MAP\": [entries]}, found " + describe(maps));
        for (auto it = maps.begin(); it != maps.end(); ++it) {
            std::string map_place = place + "/" + it.key();
            if (!it.value().is_array()) fail(map_place, "expected an array of entries, found " + describe(it.value()));
            for (auto &setting : map_entries_from_json(it.key(), "config " + path_ + ": " + map_place, it.value()))
                out.push_back(std::move(setting));
        }
    }

    std::string path_, base_dir_;
    const std::function<OptionKind(std::string_view)> &kind_of_;
};

}  // namespace

ConfigSettings read_config(const std::string &path, const std::function<OptionKind(std::string_view)> &kind_of) {
    return ConfigReader(path, kind_of).read();
}

}  // namespace alf
