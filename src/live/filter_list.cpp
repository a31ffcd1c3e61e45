#include "live/filter_list.hpp"

#include "common/unique_fd.hpp"
#include "common/util.hpp"
#include "bpf/map_listing.hpp"
#include "live/live_rules.hpp"
#include "live/service.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace alf {

MapCount count_map(const std::string &name, std::uint32_t id) {
    MapCount count{name, "", 0, 0};
    UniqueFd map(bpf_map_get_fd_by_id(id));
    bpf_map_info info{};
    std::uint32_t length = sizeof info;
    if (!map || bpf_obj_get_info_by_fd(map.get(), &info, &length) != 0) return count;
    const char *type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
    count.type = type ? type : "unknown";
    count.max_entries = info.max_entries;
    if (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
        count.entries = info.max_entries;
        return count;
    }
    std::vector<std::uint8_t> key(info.key_size), next(info.key_size);
    const void *previous = nullptr;
    while (count.entries < count_max && bpf_map_get_next_key(map.get(), previous, next.data()) == 0) {
        ++count.entries;
        key.swap(next);
        previous = key.data();
    }
    return count;
}

namespace {

std::string time_text(std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    char text[32];
    std::tm tm{};
    localtime_r(&t, &tm);
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return text;
}

}  // namespace

std::vector<ListedFilter> list_running_filters(const std::string &name) {
    std::vector<ListedFilter> listed;
    for (auto &running : find_running_filters()) {
        if (!in_own_pid_namespace(running.metadata)) continue;
        if (!name.empty() && running.metadata.name != name) continue;
        ListedFilter filter;
        filter.service_alive = service_alive(running.metadata);
        for (const auto &[map, id] : running.maps)
            if (map.find('.') == std::string::npos && !alfwrapper_map(map))
                filter.maps.push_back(count_map(map, id));
        filter.rules = rules_in_force(running);
        filter.running = std::move(running);
        listed.push_back(std::move(filter));
    }
    return listed;
}

std::string format_filter_list(const std::vector<ListedFilter> &filters) {
    if (filters.empty()) return "no running filters of alfwrapper\n";
    std::string text;
    for (const auto &filter : filters) {
        const FilterMetadata &m = filter.running.metadata;
        text += m.name + "  pid " + std::to_string(m.pid) + (filter.service_alive ? "" : " (exited)") + "  " +
                m.backend + " " + m.filter + "  program " + std::to_string(filter.running.program_id) + " tag " +
                format_tag(filter.running.tag) + "  loaded " + time_text(m.loaded_at) + "\n";
        std::vector<std::string> sockets;
        for (const auto &s : m.sockets) sockets.push_back(s.description);
        text += "  sockets: " + (sockets.empty() ? std::string("none") : join(sockets)) + "\n";
        std::vector<std::string> maps;
        for (const auto &map : filter.maps)
            maps.push_back(map.name + " " + std::to_string(map.entries) + (map.entries >= count_max ? "+" : "") +
                           "/" + std::to_string(map.max_entries));
        if (filter.rules) text += "  rules: " + std::to_string(*filter.rules) + " (alfctl rules " + m.name + ")\n";
        if (!maps.empty()) text += "  maps: " + join(maps) + "\n";
    }
    return text;
}

nlohmann::json filter_list_json(const std::vector<ListedFilter> &filters) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &filter : filters) {
        const FilterMetadata &m = filter.running.metadata;
        nlohmann::json sockets = nlohmann::json::array(), maps = nlohmann::json::array();
        for (const auto &s : m.sockets) sockets.push_back({{"socket", s.description}, {"inode", s.inode}});
        for (const auto &map : filter.maps)
            maps.push_back({{"name", map.name}, {"type", map.type}, {"entries", map.entries},
                            {"max_entries", map.max_entries}});
        list.push_back({{"name", m.name},
                        {"pid", m.pid},
                        {"service_running", filter.service_alive},
                        {"backend", m.backend},
                        {"filter", m.filter},
                        {"program_id", filter.running.program_id},
                        {"tag", format_tag(filter.running.tag)},
                        {"loaded_at", m.loaded_at},
                        {"sockets", sockets},
                        {"rules", filter.rules ? nlohmann::json(*filter.rules) : nlohmann::json(nullptr)},
                        {"maps", maps}});
    }
    return list;
}

}  // namespace alf
