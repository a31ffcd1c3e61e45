#include "launch/dry_run.hpp"

#include "bpf/filter_object.hpp"
#include "common/capabilities.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace alf {

namespace {

std::size_t count_entries(bpf_map *map) {
    // An array has every key: no walk (a per-CPU log of 256 entries took 256 calls).
    bpf_map_type type = bpf_map__type(map);
    if (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY) return bpf_map__max_entries(map);
    std::vector<std::uint8_t> key(bpf_map__key_size(map)), next(key.size());
    std::size_t count = 0;
    const void *previous = nullptr;
    while (bpf_map_get_next_key(bpf_map__fd(map), previous, next.data()) == 0) {
        ++count;
        key.swap(next);
        previous = key.data();
    }
    return count;
}

// On a Unix stream socket the filter is attached but the kernel never runs
// it: connections and their data bypass socket filters.
bool filter_runs_on(const Socket &socket) { return !(socket.family == AF_UNIX && socket.type != SOCK_DGRAM); }

nlohmann::json to_json(const HandOff &handoff, const std::string &program_path, const FilterSummary &filter) {
    using nlohmann::json;
    json j;
    j["program"] = program_path;
    j["argv"] = handoff.argv;
    j["sockets"] = json::array();
    for (std::size_t i = 0; i < handoff.sockets.size(); ++i) {
        const Socket &s = handoff.sockets[i];
        j["sockets"].push_back({{"fd", listen_fds_start + static_cast<int>(i)},
                                {"name", s.name},
                                {"socket", s.description},
                                {"inherited_fd", s.inherited() ? json(s.inherited_fd) : json(nullptr)},
                                {"filter_runs", filter_runs_on(s)}});
    }
    json maps = json::array();
    for (const auto &m : filter.maps)
        maps.push_back({{"name", m.name}, {"type", m.type}, {"entries", m.entries}, {"max_entries", m.max_entries}});
    j["filter"] = {{"object", filter.object},
                   {"program", filter.program},
                   {"kind", filter.kind},
                   {"instructions", filter.instructions},
                   {"maps", maps}};
    if (handoff.credentials) {
        const Credentials &c = *handoff.credentials;
        j["credentials"] = {{"user", c.change_user ? json(c.user) : json(nullptr)},
                            {"uid", c.change_user ? json(c.uid) : json(getuid())},
                            {"group", c.group},
                            {"gid", c.gid},
                            {"groups", c.groups},
                            {"capabilities", "none"},
                            {"no_new_privs", true}};
    } else {
        j["credentials"] = {{"user", nullptr}, {"uid", getuid()}, {"gid", getgid()}, {"unchanged", true}};
        // Capabilities alfwrapper holds without being root are dropped at the hand-off.
        if (geteuid() != 0 && held_capabilities().permitted != 0) {
            j["credentials"]["capabilities"] = "none";
            j["credentials"]["no_new_privs"] = true;
        }
    }
    std::vector<std::string> environment;
    if (handoff.credentials) environment = credential_environment(*handoff.credentials);
    environment.insert(environment.end(), handoff.environment.begin(), handoff.environment.end());
    environment.push_back("LISTEN_FDS=" + std::to_string(handoff.sockets.size()));
    environment.push_back("LISTEN_PID=" + std::to_string(getpid()));
    environment.push_back("LISTEN_FDNAMES=" + listen_fdnames(handoff.sockets));
    j["environment"] = environment;
    return j;
}

}  // namespace

FilterSummary summarize_filter(const FilterObject &filter) {
    FilterSummary summary{filter.name(), filter.program_name(), "eBPF", filter.program_instructions(), {}};
    for (const auto &m : filter.maps())
        summary.maps.push_back({m.name, m.type, count_entries(filter.find_map(m.name)), m.max_entries});
    return summary;
}

FilterSummary summarize_classic(std::size_t instructions, bool as_ebpf) {
    return {"subnets", "", as_ebpf ? "classic BPF as eBPF" : "classic BPF", static_cast<std::uint32_t>(instructions), {}};
}

void print_dry_run(std::ostream &out, const HandOff &handoff, const std::string &program_path,
                   const FilterSummary &filter, bool json) {
    auto j = to_json(handoff, program_path, filter);
    if (json) {
        out << j.dump(2) << "\n";
        return;
    }
    out << "would start: " << program_path;
    for (std::size_t i = 1; i < handoff.argv.size(); ++i) out << " " << handoff.argv[i];
    out << "\n";
    const auto &c = j["credentials"];
    if (c.contains("unchanged"))
        out << "as: uid " << c["uid"] << ", gid " << c["gid"] << " (unchanged"
            << (c.contains("capabilities") ? "; no capabilities, no_new_privs" : "") << ")\n";
    else
        out << "as: "
            << (c["user"].is_null() ? "uid " + c["uid"].dump()
                                    : "user " + c["user"].get<std::string>() + " (uid " + c["uid"].dump() + ")")
            << ", group " << c["group"].get<std::string>() << " (gid " << c["gid"] << "), groups "
            << c["groups"].dump() << "; no capabilities, no_new_privs\n";
    for (const auto &s : j["sockets"]) {
        out << "fd " << s["fd"] << ": " << s["socket"].get<std::string>() << " (name " << s["name"].get<std::string>()
            << ")";
        if (!s["filter_runs"].get<bool>()) out << " [filter attached; the kernel runs none on Unix stream connections]";
        out << "\n";
    }
    const auto &f = j["filter"];
    std::string program = f["program"].get<std::string>();
    out << "filter: " << f["object"].get<std::string>() << ", " << f["kind"].get<std::string>() << " program "
        << (program.empty() ? "" : program + " ") << "(" << f["instructions"] << " instructions)\n";
    for (const auto &m : f["maps"])
        out << "  map " << m["name"].get<std::string>() << ": " << m["type"].get<std::string>() << ", " << m["entries"]
            << " entries (max " << m["max_entries"] << ")\n";
    out << "environment:";
    for (const auto &e : j["environment"]) out << " " << e.get<std::string>();
    out << "\n";
}

}  // namespace alf
