#include "bpf/program_metadata.hpp"

#include "bpf/bpf_syscall.hpp"
#include "common/error.hpp"
#include "common/service_name.hpp"
#include "common/unique_fd.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace alf {

namespace {

std::vector<std::uint32_t> map_ids(int program_fd, std::uint32_t count);
std::optional<BoundMap> open_map(std::uint32_t id);

constexpr const char *metadata_map_name = "alf_meta";
// One value holds the JSON: a page for most services (a lookup copies the
// whole value, and alfctl reads every filter's), up to 16 KiB, enough for
// hundreds of sockets. Filters loaded by earlier versions have 16 KiB.
constexpr std::uint32_t metadata_page = 4096, metadata_max = 16384;

std::string encode(const FilterMetadata &m) {
    nlohmann::json sockets = nlohmann::json::array();
    for (const auto &s : m.sockets) sockets.push_back({{"inode", s.inode}, {"socket", s.description}});
    nlohmann::json j = {{"name", m.name},       {"pid", m.pid},          {"filter", m.filter},
                        {"backend", m.backend}, {"sockets", sockets},    {"loaded_at", m.loaded_at},
                        {"version", m.version}, {"pid_namespace", m.pid_namespace}};
    if (!m.maps.empty()) {
        nlohmann::json maps = nlohmann::json::array();
        for (const auto &[name, id] : m.maps) maps.push_back({name, id});
        j["maps"] = maps;
    }
    std::string text = j.dump();
    if (text.size() >= metadata_max) throw Error("filter metadata: too many sockets to record");
    return text;
}

// The value size for a text: twice its length at least (a restart that keeps
// the filter rewrites it, with another pid), in whole pages.
std::uint32_t metadata_room(const std::string &text) {
    std::size_t room = (2 * (text.size() + 1) + metadata_page - 1) / metadata_page * metadata_page;
    return static_cast<std::uint32_t>(std::min<std::size_t>(room, metadata_max));
}

std::optional<FilterMetadata> decode(const char *value, std::size_t size) {
    std::string text(value, strnlen(value, size));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    FilterMetadata m;
    m.name = j.value("name", "");
    m.pid = j.value("pid", 0L);
    m.filter = j.value("filter", "");
    m.backend = j.value("backend", "eBPF");
    m.loaded_at = j.value("loaded_at", std::int64_t{0});
    m.version = j.value("version", "");
    m.pid_namespace = j.value("pid_namespace", std::uint64_t{0});
    if (j.contains("sockets") && j["sockets"].is_array())
        for (const auto &s : j["sockets"])
            if (s.is_object()) m.sockets.push_back({s.value("inode", std::uint64_t{0}), s.value("socket", "")});
    if (j.contains("maps") && j["maps"].is_array())
        for (const auto &entry : j["maps"])
            if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_number_unsigned() &&
                entry[1].get<std::uint64_t>() <= UINT32_MAX)
                m.maps.emplace_back(entry[0].get<std::string>(), entry[1].get<std::uint32_t>());
    return m;
}

void write_value(int map_fd, std::uint32_t value_size, const std::string &text) {
    if (text.size() >= value_size)
        throw Error("filter metadata: the record of this run (" + std::to_string(text.size() + 1) +
                    " bytes, its sockets) does not fit the kept filter's (" + std::to_string(value_size) +
                    " bytes); restart the socket unit so that systemd creates it anew (" + restart_socket_command() +
                    ")");
    std::vector<char> value(value_size, 0);
    std::memcpy(value.data(), text.data(), text.size());
    std::uint32_t key = 0;
    if (bpf_map_update_elem(map_fd, &key, value.data(), BPF_ANY) != 0)
        throw system_error("filter metadata: cannot write it", errno);
}

}  // namespace

std::uint64_t own_pid_namespace() {
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
}

bool in_own_pid_namespace(const FilterMetadata &metadata) {
    static const std::uint64_t own = own_pid_namespace();
    return metadata.pid_namespace == 0 || own == 0 || metadata.pid_namespace == own;
}

namespace {

// The record with the program's maps as they are now: those `metadata`
// names that the program holds, and any other it holds (maps bound to it
// after loading), opened to learn their names.
FilterMetadata with_program_maps(int program_fd, const FilterMetadata &metadata) {
    bpf_prog_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) throw system_error("program info", errno);
    std::vector<std::uint32_t> ids = map_ids(program_fd, info.nr_map_ids);
    FilterMetadata record = metadata;
    record.maps.clear();
    for (std::uint32_t id : ids) {
        auto named = std::find_if(metadata.maps.begin(), metadata.maps.end(), [&](const auto &m) { return m.second == id; });
        if (named != metadata.maps.end()) record.maps.push_back(*named);
        else if (auto map = open_map(id)) record.maps.emplace_back(map->info.name, id);
    }
    return record;
}

}  // namespace

void attach_metadata(int program_fd, const FilterMetadata &metadata) {
    std::string text = encode(with_program_maps(program_fd, metadata));
    std::uint32_t room = metadata_room(text);
    UniqueFd map(create_map(BPF_MAP_TYPE_ARRAY, metadata_map_name, sizeof(std::uint32_t), room, 1));
    if (!map) throw system_error("filter metadata: cannot create its map", errno);
    write_value(map.get(), room, text);
    if (bpf_prog_bind_map(program_fd, map.get(), nullptr) != 0)
        throw system_error("filter metadata: cannot bind it to the program", errno);
}

ProgramTag program_tag(int program_fd) {
    bpf_prog_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) throw system_error("program info", errno);
    ProgramTag tag;
    std::memcpy(tag.data(), info.tag, tag.size());
    return tag;
}

std::string format_tag(const ProgramTag &tag) {
    std::string text;
    char hex[3];
    for (auto byte : tag) {
        std::snprintf(hex, sizeof hex, "%02x", byte);
        text += hex;
    }
    return text;
}

namespace {

// The ids of the maps a program uses or has bound, `count` of them as its
// info said (fewer when the program lost some meanwhile).
std::vector<std::uint32_t> map_ids(int program_fd, std::uint32_t count) {
    std::vector<std::uint32_t> ids(count);
    if (count == 0) return ids;
    bpf_prog_info with_maps{};
    with_maps.nr_map_ids = count;
    with_maps.map_ids = reinterpret_cast<std::uint64_t>(ids.data());
    std::uint32_t length = sizeof with_maps;
    if (bpf_obj_get_info_by_fd(program_fd, &with_maps, &length) != 0) throw system_error("program info", errno);
    ids.resize(std::min(count, with_maps.nr_map_ids));
    return ids;
}

std::optional<BoundMap> open_map(std::uint32_t id) {
    BoundMap map;
    map.fd = UniqueFd(bpf_map_get_fd_by_id(id));
    if (!map.fd) return std::nullopt;  // gone meanwhile
    std::uint32_t length = sizeof map.info;
    if (bpf_obj_get_info_by_fd(map.fd.get(), &map.info, &length) != 0) return std::nullopt;
    map.id = id;
    return map;
}

// The metadata, when `map` is alfwrapper's metadata map.
std::optional<FilterMetadata> metadata_of(const BoundMap &map) {
    if (std::strcmp(map.info.name, metadata_map_name) != 0 || map.info.type != BPF_MAP_TYPE_ARRAY ||
        map.info.value_size == 0 || map.info.value_size > metadata_max)
        return std::nullopt;
    std::uint32_t key = 0;
    std::unique_ptr<char[]> value(new char[map.info.value_size]);  // the lookup fills it all
    if (bpf_map_lookup_elem(map.fd.get(), &key, value.get()) != 0) return std::nullopt;
    return decode(value.get(), map.info.value_size);
}

}  // namespace

std::vector<BoundMap> program_maps(int program_fd) {
    bpf_prog_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) throw system_error("program info", errno);
    std::vector<BoundMap> maps;
    for (std::uint32_t id : map_ids(program_fd, info.nr_map_ids))
        if (auto map = open_map(id)) maps.push_back(std::move(*map));
    return maps;
}

std::vector<RunningFilter> find_running_filters(const std::function<bool(const FilterMetadata &)> &wanted) {
    std::vector<RunningFilter> found;
    std::uint32_t id = 0;
    for (;;) {
        if (bpf_prog_get_next_id(id, &id) != 0) {
            if (errno == ENOENT) break;
            throw system_error("listing the loaded eBPF programs (needs root: CAP_SYS_ADMIN and CAP_BPF)", errno);
        }
        UniqueFd program(bpf_prog_get_fd_by_id(id));
        if (!program) continue;  // gone meanwhile
        bpf_prog_info info{};
        std::uint32_t length = sizeof info;
        if (bpf_obj_get_info_by_fd(program.get(), &info, &length) != 0 || info.type != BPF_PROG_TYPE_SOCKET_FILTER ||
            info.nr_map_ids == 0)
            continue;
        std::vector<std::uint32_t> ids;
        try {
            ids = map_ids(program.get(), info.nr_map_ids);
        } catch (const Error &) {
            continue;  // gone meanwhile
        }
        // The metadata map is bound after the program is loaded, so it is
        // the last of its maps: looked at first, the other maps of a filter
        // not wanted are never opened. Any other place is looked at too.
        RunningFilter filter;
        filter.program_id = id;
        std::memcpy(filter.tag.data(), info.tag, filter.tag.size());
        std::vector<std::optional<BoundMap>> opened(ids.size());
        std::size_t metadata_at = ids.size();
        for (std::size_t i = ids.size(); i-- > 0 && metadata_at == ids.size();) {
            opened[i] = open_map(ids[i]);
            if (!opened[i]) continue;
            if (auto metadata = metadata_of(*opened[i])) {
                filter.metadata = std::move(*metadata);
                filter.metadata_map_id = ids[i];
                metadata_at = i;
            }
        }
        if (metadata_at == ids.size()) continue;  // not alfwrapper's
        if (!filter.metadata.maps.empty()) {
            // Named in the record: the program's maps among them (a map the
            // program does not hold went when alfwrapper exec'd).
            for (const auto &[name, map_id] : filter.metadata.maps)
                if (std::find(ids.begin(), ids.end(), map_id) != ids.end()) filter.maps.emplace_back(name, map_id);
        } else if (!wanted || wanted(filter.metadata)) {
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (i == metadata_at) continue;
                if (!opened[i]) opened[i] = open_map(ids[i]);
                if (opened[i]) filter.maps.emplace_back(opened[i]->info.name, ids[i]);
            }
        }
        found.push_back(std::move(filter));
    }
    return found;
}

std::optional<RunningFilter> find_filter_of_socket(std::uint64_t inode) {
    for (auto &filter : find_running_filters())
        for (const auto &socket : filter.metadata.sockets)
            if (socket.inode == inode) return filter;
    return std::nullopt;
}

void update_metadata(const RunningFilter &filter, const FilterMetadata &metadata) {
    UniqueFd map(bpf_map_get_fd_by_id(filter.metadata_map_id));
    if (!map) throw system_error("filter metadata: the running filter's map is gone", errno);
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(map.get(), &info, &length) != 0)
        throw system_error("filter metadata: the running filter's map cannot be read", errno);
    write_value(map.get(), info.value_size, encode(metadata));
}

}  // namespace alf
