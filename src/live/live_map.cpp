#include "live/live_map.hpp"

#include "bpf/btf_values.hpp"
#include "bpf/map_listing.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "common/util.hpp"
#include "live/filter_list.hpp"
#include "live/service.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>

namespace alf {

namespace {

using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

constexpr const char *metadata_map = "alf_meta";
// The kernel keeps a map's name to 15 characters: a longer name as the
// filter declares it is found by those.
constexpr std::size_t kernel_name_length = BPF_OBJ_NAME_LEN - 1;

const char *const action_words[] = {"dump", "get", "set", "delete"};

bool is_action_word(const std::string &word) {
    return std::find(std::begin(action_words), std::end(action_words), word) != std::end(action_words);
}

struct BtfFree {
    void operator()(struct btf *btf) const { btf__free(btf); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfFree>;

bool is_per_cpu(std::uint32_t type) {
    return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

bool is_array(std::uint32_t type) { return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY; }

// Maps whose entries are keys and values that user space reads and writes
// (not ring buffers, program arrays, maps of maps, socket maps, queues).
bool holds_entries(std::uint32_t type) {
    switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LPM_TRIE:
        return true;
    default:
        return false;
    }
}

// Why alfctl map does not change `map`, and what does; empty when it may.
std::string read_only_reason(const std::string &map, const std::string &service) {
    if (const OwnMap *managed = alfwrapper_map(map)) {
        std::string verb = managed->verb;
        return std::string(managed->what) + ": " +
               (verb == "rules" ? "change them with alfctl rules " + service + " allow|deny|remove|replace"
                                : "alfctl " + verb + " " + service + " shows it");
    }
    if (map == metadata_map) return "it is alfwrapper's record of the service (alfctl list shows it)";
    if (map.find(".rodata") != std::string::npos)
        return "it holds the filter's constants, which the verifier checked the program with: change them in the "
               "filter's source (or with -D) and restart the service";
    for (const char *section : {".data", ".bss", ".kconfig"})
        if (map.find(section) != std::string::npos)
            return std::string("it holds the program's own global variables (") + section +
                   "), which only the program changes";
    return "";
}

// Per-CPU values added up, when they are integers or structs and arrays of
// them, field by field: what the CPUs counted together. nullopt otherwise.
std::optional<json> sum_of(const std::vector<json> &values) {
    const json &first = values.front();
    if (first.is_number_integer()) {
        std::uint64_t sum = 0;  // two's complement: the same bits for signed values
        bool any_signed = false;
        for (const auto &v : values) {
            if (!v.is_number_integer()) return std::nullopt;
            sum += v.get<std::uint64_t>();
            any_signed = any_signed || !v.is_number_unsigned();
        }
        return any_signed ? json(static_cast<std::int64_t>(sum)) : json(sum);
    }
    if (!first.is_object() && !first.is_array()) return std::nullopt;
    json sum = first;
    for (auto it = sum.begin(); it != sum.end(); ++it) {
        std::vector<json> parts;
        for (const auto &v : values) {
            if (v.type() != first.type() || v.size() != first.size()) return std::nullopt;
            if (first.is_object()) {
                if (!v.contains(it.key())) return std::nullopt;
                parts.push_back(v[it.key()]);
            } else {
                parts.push_back(v[static_cast<std::size_t>(it - sum.begin())]);
            }
        }
        auto part = sum_of(parts);
        if (!part) return std::nullopt;
        *it = std::move(*part);
    }
    return sum;
}

std::string size_text(std::uint32_t bytes) { return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes"); }

// One map of the running filter, opened, with its BTF (none for maps
// created without, as alfwrapper's record of the service).
class OpenMap {
public:
    OpenMap(std::string name, std::uint32_t id) : name_(std::move(name)), id_(id), fd_(bpf_map_get_fd_by_id(id)) {
        if (!fd_) throw system_error("map " + name_ + " cannot be opened", errno);
        std::uint32_t length = sizeof info_;
        if (bpf_obj_get_info_by_fd(fd_.get(), &info_, &length) != 0)
            throw system_error("map " + name_ + ": its description cannot be read", errno);
        if (info_.btf_id) btf_.reset(btf__load_from_kernel_by_id(info_.btf_id));
        if (per_cpu()) {
            int cpus = libbpf_num_possible_cpus();
            if (cpus < 1) throw system_error("map " + name_ + ": cannot count the CPUs", -cpus);
            cpus_ = static_cast<std::size_t>(cpus);
        }
    }

    const std::string &name() const { return name_; }
    const bpf_map_info &info() const { return info_; }
    const struct btf *btf() const { return btf_.get(); }
    bool per_cpu() const { return is_per_cpu(info_.type); }
    bool array() const { return is_array(info_.type); }

    std::string type_name() const {
        const char *type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info_.type));
        return type ? type : "type " + std::to_string(info_.type);
    }

    MapOverview overview(const std::string &service) const {
        MapOverview o;
        o.name = name_;
        o.id = id_;
        o.type = type_name();
        o.key_type = type_text(key_type_id(), info_.key_size);
        o.value_type = type_text(value_type_id(), info_.value_size);
        o.max_entries = info_.max_entries;
        o.entries = count_map(name_, id_).entries;
        o.per_cpu = per_cpu();
        o.array = array();
        o.read_only = read_only_reason(name_, service);
        return o;
    }

    Bytes encode_key(const std::string &text) const {
        return encode_btf_value(btf(), key_type_id(), info_.key_size, text, name_ + ".key");
    }
    Bytes encode_value(const std::string &text) const {
        return encode_btf_value(btf(), value_type_id(), info_.value_size, text, name_ + ".value");
    }
    std::string value_type() const { return type_text(value_type_id(), info_.value_size); }

    // Every key, in the kernel's order; at most max_entries of them (a map
    // changing under the walk may restart it).
    std::vector<Bytes> keys() const {
        std::vector<Bytes> keys;
        Bytes next(info_.key_size);
        const void *previous = nullptr;
        while (keys.size() < info_.max_entries && bpf_map_get_next_key(fd_.get(), previous, next.data()) == 0) {
            keys.push_back(next);
            previous = keys.back().data();
        }
        return keys;
    }

    // The entry of exactly this key. An LPM trie's lookup finds the longest
    // prefix holding the key's address, so its keys are compared instead.
    std::optional<MapEntry> find(const Bytes &key) const {
        auto value = raw_value(key);
        if (!value) return std::nullopt;
        return entry(key, *value);
    }

    // The bytes of the entry (a per-CPU map: every CPU's copy, aligned).
    std::optional<Bytes> raw_value(const Bytes &key) const {
        if (info_.type == BPF_MAP_TYPE_LPM_TRIE) {
            auto all = keys();
            if (std::find(all.begin(), all.end(), key) == all.end()) return std::nullopt;
        }
        Bytes value(value_buffer_size());
        if (bpf_map_lookup_elem(fd_.get(), key.data(), value.data()) != 0) {
            if (errno == ENOENT) return std::nullopt;
            throw system_error("map " + name_ + ": cannot read an entry", errno);
        }
        return value;
    }

    // Writes the entry. A per-CPU map's counts are shown as their sum, so a
    // value that adds up goes to the first CPU and zeros to the others: the
    // sum is the value given. Any other value goes to every CPU.
    void write(const Bytes &key, const Bytes &value) const {
        Bytes buffer = value;
        if (per_cpu()) {
            buffer.assign(value_buffer_size(), 0);
            bool adds_up = sum_of({decode_value(value)}).has_value();
            for (std::size_t cpu = 0; cpu < (adds_up ? 1 : cpus_); ++cpu)
                std::copy(value.begin(), value.end(), buffer.begin() + static_cast<std::ptrdiff_t>(cpu * stride()));
        }
        if (bpf_map_update_elem(fd_.get(), key.data(), buffer.data(), BPF_ANY) == 0) return;
        if (errno == E2BIG || errno == ENOSPC)
            throw Error("map " + name_ + " is full: it holds " + std::to_string(info_.max_entries) +
                        " entries; delete one first, or restart the service with a larger --map-size " + name_ +
                        "=N; nothing was changed");
        throw system_error("map " + name_ + ": cannot write the entry", errno);
    }

    // false: there was no such entry.
    bool erase(const Bytes &key) const {
        if (bpf_map_delete_elem(fd_.get(), key.data()) == 0) return true;
        if (errno == ENOENT) return false;
        throw system_error("map " + name_ + ": cannot delete the entry", errno);
    }

private:
    std::uint32_t key_type_id() const { return btf_ ? info_.btf_key_type_id : 0; }
    std::uint32_t value_type_id() const { return btf_ ? info_.btf_value_type_id : 0; }

    std::string type_text(std::uint32_t type_id, std::uint32_t size) const {
        return type_id ? describe_btf_type(btf(), type_id) : size_text(size);
    }

    // A per-CPU map's value is one copy a possible CPU, each 8-byte aligned.
    std::size_t stride() const { return (std::size_t(info_.value_size) + 7) & ~std::size_t(7); }
    std::size_t value_buffer_size() const { return per_cpu() ? stride() * cpus_ : info_.value_size; }

    json decode_value(std::span<const std::uint8_t> bytes) const {
        // alfwrapper's record of the service: JSON text, in a value without BTF.
        if (name_ == metadata_map) {
            std::string text(reinterpret_cast<const char *>(bytes.data()),
                             strnlen(reinterpret_cast<const char *>(bytes.data()), bytes.size()));
            json record = json::parse(text, nullptr, false);
            if (!record.is_discarded()) return record;
        }
        return decode_btf_value(btf(), value_type_id(), bytes);
    }

    MapEntry entry(const Bytes &key, const Bytes &value) const {
        MapEntry e;
        e.key = decode_btf_value(btf(), key_type_id(), key);
        if (!per_cpu()) {
            e.values.push_back(decode_value(std::span(value).first(info_.value_size)));
            return e;
        }
        for (std::size_t cpu = 0; cpu < cpus_; ++cpu)
            e.values.push_back(decode_value(std::span(value).subspan(cpu * stride(), info_.value_size)));
        e.sum = sum_of(e.values);
        return e;
    }

    std::string name_;
    std::uint32_t id_;
    UniqueFd fd_;
    bpf_map_info info_{};
    BtfPtr btf_;
    std::size_t cpus_ = 1;
};

// The filter's maps and alfwrapper's record of the service, by name and id:
// those alfctl map changes first, then the read-only ones.
std::vector<std::pair<std::string, std::uint32_t>> maps_of(const RunningFilter &service) {
    auto maps = service.maps;
    if (service.metadata_map_id) maps.emplace_back(metadata_map, service.metadata_map_id);
    std::stable_partition(maps.begin(), maps.end(),
                          [&](const auto &map) { return read_only_reason(map.first, "").empty(); });
    return maps;
}

std::pair<std::string, std::uint32_t> find_map(const RunningFilter &service, const std::string &map) {
    auto maps = maps_of(service);
    for (const auto &entry : maps)
        if (entry.first == map) return entry;
    for (const auto &entry : maps)
        if (map.size() > kernel_name_length && entry.first == map.substr(0, kernel_name_length)) return entry;
    std::vector<std::string> names;
    for (const auto &entry : maps) names.push_back(entry.first);
    throw Error("no map named " + quote_input(map) + "; the filter's maps: " + join(names) + " (alfctl map " +
                service.metadata.name + " describes them)");
}

// A global variable of the running filter's .rodata (ALF_MAP_DEFAULT_VALUE,
// ALF_MAP_SLOTS), found by the data section's BTF; empty when there is none.
Bytes running_constant(const RunningFilter &service, const std::string &variable) {
    for (const auto &[name, id] : service.maps) {
        if (name.find(".rodata") == std::string::npos) continue;
        OpenMap data(name, id);
        const struct btf *btf = data.btf();
        const btf_type *section = btf ? btf__type_by_id(btf, data.info().btf_value_type_id) : nullptr;
        if (!section || !btf_is_datasec(section)) continue;
        const struct btf_var_secinfo *vars = btf_var_secinfos(section);
        for (int i = 0; i < btf_vlen(section); ++i) {
            const btf_type *var = btf__type_by_id(btf, vars[i].type);
            if (!var || variable != btf__name_by_offset(btf, var->name_off)) continue;
            if (vars[i].offset + vars[i].size > data.info().value_size) return {};
            // The section's map: an array of one element.
            auto value = data.raw_value(Bytes(data.info().key_size, 0));
            if (!value) return {};
            auto begin = value->begin() + vars[i].offset;
            return Bytes(begin, begin + vars[i].size);
        }
    }
    return {};
}

std::uint32_t array_index(const Bytes &key) {
    std::uint32_t index = 0;
    std::memcpy(&index, key.data(), std::min(key.size(), sizeof index));
    return index;
}

bool all_zero(const Bytes &bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// An array's index must lie inside it.
void check_index(const OpenMap &map, const Bytes &key, const std::string &key_text) {
    std::uint32_t index = array_index(key);
    if (map.array() && index >= map.info().max_entries)
        throw Error("map " + map.name() + " is an array of " + std::to_string(map.info().max_entries) +
                    " entries: key " + quote_input(key_text) + " is not one of its indexes 0 to " +
                    std::to_string(map.info().max_entries - 1));
}

// A map of slots (ALF_MAP_SLOTS) is walked from slot 0 to the first empty
// one: an entry after an empty slot would never be seen, and emptying a
// slot would hide the ones after it.
void check_slots(const OpenMap &map, const Bytes &key, const Bytes &value) {
    std::uint32_t slot = array_index(key);
    auto slot_is_set = [&](std::uint32_t index) {
        Bytes other(map.info().key_size, 0);
        std::memcpy(other.data(), &index, std::min(other.size(), sizeof index));
        auto bytes = map.raw_value(other);
        return bytes && !all_zero(Bytes(bytes->begin(), bytes->begin() + map.info().value_size));
    };
    if (!all_zero(value) && slot > 0 && !slot_is_set(slot - 1))
        throw Error("map " + map.name() + ": slot " + std::to_string(slot - 1) + " is empty, and the filter stops at "
                    "the first empty slot: fill the slots from 0 without gaps; nothing was changed");
    if (all_zero(value) && slot + 1 < map.info().max_entries && slot_is_set(slot + 1))
        throw Error("map " + map.name() + ": slot " + std::to_string(slot + 1) + " is set, and the filter stops at "
                    "the first empty slot: emptying slot " + std::to_string(slot) + " would hide the slots after "
                    "it; empty them from the last; nothing was changed");
}

MapEntry require_entry(const OpenMap &map, const Bytes &key, const std::string &key_text,
                       const std::string &service, const char *consequence) {
    auto entry = map.find(key);
    if (!entry)
        throw Error("map " + map.name() + " has no entry for key " + quote_input(key_text) + consequence +
                    " (alfctl map " + service + " " + map.name() + " dump lists its entries)");
    return *entry;
}

void check_writable(const MapOverview &map, const char *verb) {
    if (!map.read_only.empty())
        throw Error("map " + map.name + " is not changed with alfctl map " + verb + ": " + map.read_only);
}

}  // namespace

MapRequest parse_map_request(const std::vector<std::string> &words) {
    MapRequest request;
    if (words.empty()) return request;
    request.map = words[0];
    request.action = MapAction::dump;
    if (words.size() == 1) return request;
    const std::string &action = words[1];
    std::vector<std::string> arguments(words.begin() + 2, words.end());
    if (!is_action_word(action)) {
        if (is_action_word(words[0]))
            throw Error("no MAP before " + words[0] + ": alfctl map NAME MAP " + words[0] +
                        " ... (alfctl map NAME lists the maps)");
        throw Error("unknown action " + quote_input(action) +
                    ": expected dump, get KEY, set KEY [VALUE] or delete KEY");
    }
    auto take = [&](std::size_t least, std::size_t most, const std::string &usage) {
        if (arguments.size() < least) throw Error(action + " needs " + usage + ": alfctl map NAME MAP " + action + " " + usage);
        if (arguments.size() > most)
            throw Error("unexpected argument '" + quote_input(arguments[most]) + "': alfctl map NAME MAP " + action +
                        (usage.empty() ? "" : " " + usage) + " (a KEY or VALUE with blanks goes in quotes)");
    };
    if (action == "dump") {
        take(0, 0, "");
    } else if (action == "get" || action == "delete") {
        request.action = action == "get" ? MapAction::get : MapAction::remove;
        take(1, 1, "KEY");
        request.key = arguments[0];
    } else {
        request.action = MapAction::set;
        take(1, 2, "KEY [VALUE]");
        request.key = arguments[0];
        if (arguments.size() == 2) request.value = arguments[1];
    }
    return request;
}

MapOutcome apply_map_request(const RunningFilter &service, const MapRequest &request) {
    MapOutcome outcome;
    outcome.service = describe_service(service);
    outcome.name = service.metadata.name;
    outcome.pid = service.metadata.pid;
    outcome.filter = service.metadata.filter;
    outcome.request = request;
    const std::string &name = service.metadata.name;
    if (request.action == MapAction::list) {
        for (const auto &[map, id] : maps_of(service)) outcome.maps.push_back(OpenMap(map, id).overview(name));
        return outcome;
    }
    with_context(outcome.service, [&] {
        auto [map_name, id] = find_map(service, request.map);
        OpenMap map(map_name, id);
        // The name the filter declares, for its constants (a longer one than the kernel keeps).
        const std::string &declared = request.map.size() > map_name.size() ? request.map : map_name;
        outcome.maps.push_back(map.overview(name));
        const MapOverview &overview = outcome.maps.front();
        if (!holds_entries(map.info().type))
            throw Error("map " + map.name() + " is a " + map.type_name() +
                        " map: it holds no keys and values to show or change");
        switch (request.action) {
        case MapAction::list:
            break;
        case MapAction::dump:
            for (const auto &key : map.keys())
                if (auto entry = map.find(key)) outcome.entries.push_back(std::move(*entry));
            break;
        case MapAction::get: {
            Bytes key = map.encode_key(request.key);
            check_index(map, key, request.key);
            outcome.entries.push_back(require_entry(map, key, request.key, name, ""));
            break;
        }
        case MapAction::set: {
            check_writable(overview, "set");
            Bytes key = map.encode_key(request.key);
            Bytes value;
            if (request.value) {
                value = map.encode_value(*request.value);
            } else {
                value = running_constant(service, "alf_default_value__" + declared);
                if (value.size() != map.info().value_size)
                    throw Error("map " + map.name() + " needs a VALUE of type " + map.value_type() +
                                " after the key (the filter declares no default: ALF_MAP_DEFAULT_VALUE)");
            }
            check_index(map, key, request.key);
            if (!running_constant(service, "alf_slots__" + declared).empty()) check_slots(map, key, value);
            outcome.previous = map.find(key);
            map.write(key, value);
            outcome.entries.push_back(require_entry(map, key, request.key, name, " after writing it"));
            break;
        }
        case MapAction::remove: {
            check_writable(overview, "delete");
            Bytes key = map.encode_key(request.key);
            check_index(map, key, request.key);
            MapEntry entry = require_entry(map, key, request.key, name, ": nothing was deleted");
            if (map.array()) {
                // An array's entries always exist: deleting one zeroes it.
                Bytes zero(map.info().value_size, 0);
                if (!running_constant(service, "alf_slots__" + declared).empty()) check_slots(map, key, zero);
                map.write(key, zero);
            } else if (!map.erase(key))
                throw Error("map " + map.name() + " has no entry for key " + quote_input(request.key) +
                            " (deleted meanwhile)");
            outcome.entries.push_back(std::move(entry));
            break;
        }
        }
    });
    return outcome;
}

namespace {

// What a value is shown as: a per-CPU map's counts summed, its other values
// listed a CPU each.
json shown_value(const MapEntry &entry) {
    if (entry.sum) return *entry.sum;
    if (entry.values.size() == 1) return entry.values.front();
    return json(entry.values);
}

json entry_json(const MapEntry &entry, bool per_cpu) {
    json j = {{"key", entry.key}, {"value", shown_value(entry)}};
    if (per_cpu) j["per_cpu"] = entry.values;
    return j;
}

json overview_json(const MapOverview &map) {
    return {{"name", map.name},
            {"id", map.id},
            {"type", map.type},
            {"key_type", map.key_type},
            {"value_type", map.value_type},
            {"entries", map.entries},
            {"max_entries", map.max_entries},
            {"per_cpu", map.per_cpu},
            {"read_only", map.read_only.empty() ? json(nullptr) : json(map.read_only)}};
}

std::string padded(std::string text, std::size_t width) {
    if (text.size() < width) text.resize(width, ' ');
    return text;
}

std::string format_overviews(const MapOutcome &outcome) {
    std::vector<std::vector<std::string>> rows = {{"MAP", "TYPE", "KEY", "VALUE", "ENTRIES", ""}};
    for (const auto &map : outcome.maps) {
        const OwnMap *managed = alfwrapper_map(map.name);
        std::string note = map.read_only.empty() ? "" : managed ? std::string("read-only: alfctl ") + managed->verb
                                                                : "read-only";
        if (map.per_cpu) note = note.empty() ? "per-CPU" : "per-CPU, " + note;
        rows.push_back({map.name, map.type, map.key_type, map.value_type,
                        std::to_string(map.entries) + "/" + std::to_string(map.max_entries), note});
    }
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto &row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::string text = "# " + outcome.service + ": filter " + outcome.filter + "\n";
    for (const auto &row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) line += padded(row[i], i + 1 < row.size() ? widths[i] + 2 : 0);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        text += line + "\n";
    }
    return text;
}

}  // namespace

std::string format_map_outcome(const MapOutcome &outcome) {
    const MapRequest &request = outcome.request;
    if (request.action == MapAction::list) return format_overviews(outcome);
    const MapOverview &map = outcome.maps.front();
    auto value_text = [](const MapEntry &entry) { return setting_text(shown_value(entry)); };
    switch (request.action) {
    case MapAction::list:
        break;
    case MapAction::dump: {
        // A comment, then "KEY VALUE" lines: what --set-file reads.
        std::string text = "# " + map.name + ": " + map.type + ", key " + map.key_type + ", value " + map.value_type +
                           ", " + std::to_string(outcome.entries.size()) + " of " + std::to_string(map.max_entries) +
                           " entries";
        if (map.per_cpu)
            text += outcome.entries.empty() || outcome.entries.front().sum
                        ? "; per-CPU: each value is the sum over the CPUs, field by field (--json shows each CPU's)"
                        : "; per-CPU: each value is a list, one a CPU";
        text += "\n";
        for (const auto &entry : outcome.entries) text += setting_text(entry.key) + " " + value_text(entry) + "\n";
        return text;
    }
    case MapAction::get:
        return value_text(outcome.entries.front()) + "\n";
    case MapAction::set:
        return map.name + ": " + setting_text(outcome.entries.front().key) + " = " +
               value_text(outcome.entries.front()) + " (" +
               (outcome.previous ? "was " + value_text(*outcome.previous) : std::string("a new entry")) + ")\n";
    case MapAction::remove:
        return map.name + ": " + setting_text(outcome.entries.front().key) + " deleted (it was " +
               value_text(outcome.entries.front()) + (map.array ? "; an array's entry is zeroed" : "") +
               ")\n";
    }
    return "";
}

json map_outcome_json(const MapOutcome &outcome) {
    json j = {{"name", outcome.name}, {"pid", outcome.pid}, {"filter", outcome.filter}};
    const MapRequest &request = outcome.request;
    if (request.action == MapAction::list) {
        j["maps"] = json::array();
        for (const auto &map : outcome.maps) j["maps"].push_back(overview_json(map));
        return j;
    }
    const MapOverview &map = outcome.maps.front();
    if (request.action == MapAction::dump) {
        j["map"] = overview_json(map);
        j["entries"] = json::array();
        for (const auto &entry : outcome.entries) j["entries"].push_back(entry_json(entry, map.per_cpu));
        return j;
    }
    j["map"] = map.name;
    j.update(entry_json(outcome.entries.front(), map.per_cpu));
    if (request.action == MapAction::set)
        j["previous"] = outcome.previous ? shown_value(*outcome.previous) : json(nullptr);
    if (request.action == MapAction::remove) j["deleted"] = true;
    return j;
}

}  // namespace alf
