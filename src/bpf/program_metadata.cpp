#include "bpf/program_metadata.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace alf {

namespace {

constexpr const char *metadata_map_name = "alf_meta";
// One value holds the JSON: enough for hundreds of sockets.
constexpr std::uint32_t metadata_size = 16384;

std::vector<std::uint8_t> encode(const FilterMetadata &m) {
    nlohmann::json sockets = nlohmann::json::array();
    for (const auto &s : m.sockets) sockets.push_back({{"inode", s.inode}, {"socket", s.description}});
    nlohmann::json j = {{"name", m.name},       {"pid", m.pid},          {"filter", m.filter},
                        {"backend", m.backend}, {"sockets", sockets},    {"loaded_at", m.loaded_at},
                        {"version", m.version}, {"pid_namespace", m.pid_namespace}};
    std::string text = j.dump();
    if (text.size() >= metadata_size) throw Error("filter metadata: too many sockets to record");
    std::vector<std::uint8_t> value(metadata_size, 0);
    std::memcpy(value.data(), text.data(), text.size());
    return value;
}

std::optional<FilterMetadata> decode(const std::vector<std::uint8_t> &value) {
    std::string text(reinterpret_cast<const char *>(value.data()), strnlen(reinterpret_cast<const char *>(value.data()), value.size()));
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
    return m;
}

void write_value(int map_fd, const FilterMetadata &metadata) {
    std::uint32_t key = 0;
    auto value = encode(metadata);
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

void attach_metadata(int program_fd, const FilterMetadata &metadata) {
    UniqueFd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, metadata_map_name, sizeof(std::uint32_t), metadata_size, 1,
                                nullptr));
    if (!map) throw system_error("filter metadata: cannot create its map", errno);
    write_value(map.get(), metadata);
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

std::vector<BoundMap> program_maps(int program_fd) {
    bpf_prog_info info{};
    std::uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) throw system_error("program info", errno);
    std::vector<std::uint32_t> map_ids(info.nr_map_ids);
    bpf_prog_info with_maps{};
    with_maps.nr_map_ids = info.nr_map_ids;
    with_maps.map_ids = reinterpret_cast<std::uint64_t>(map_ids.data());
    length = sizeof with_maps;
    if (info.nr_map_ids && bpf_obj_get_info_by_fd(program_fd, &with_maps, &length) != 0)
        throw system_error("program info", errno);
    std::vector<BoundMap> maps;
    for (std::uint32_t i = 0; i < with_maps.nr_map_ids && i < map_ids.size(); ++i) {
        BoundMap map;
        map.fd = UniqueFd(bpf_map_get_fd_by_id(map_ids[i]));
        if (!map.fd) continue;  // gone meanwhile
        std::uint32_t map_length = sizeof map.info;
        if (bpf_obj_get_info_by_fd(map.fd.get(), &map.info, &map_length) != 0) continue;
        map.id = map_ids[i];
        maps.push_back(std::move(map));
    }
    return maps;
}

std::vector<RunningFilter> find_running_filters() {
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
        std::vector<BoundMap> maps;
        try {
            maps = program_maps(program.get());
        } catch (const Error &) {
            continue;  // gone meanwhile
        }
        RunningFilter filter;
        filter.program_id = id;
        std::memcpy(filter.tag.data(), info.tag, filter.tag.size());
        bool ours = false;
        for (const auto &map : maps) {
            if (std::strcmp(map.info.name, metadata_map_name) == 0 && map.info.value_size == metadata_size) {
                std::uint32_t key = 0;
                std::vector<std::uint8_t> value(metadata_size);
                if (bpf_map_lookup_elem(map.fd.get(), &key, value.data()) != 0) continue;
                if (auto metadata = decode(value)) {
                    filter.metadata = std::move(*metadata);
                    filter.metadata_map_id = map.id;
                    ours = true;
                }
            } else {
                filter.maps.emplace_back(map.info.name, map.id);
            }
        }
        if (ours) found.push_back(std::move(filter));
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
    write_value(map.get(), metadata);
}

}  // namespace alf
