#include "live/service.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <bpf/bpf.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <set>

namespace alf {

namespace {

bool all_digits(const std::string &text) {
    return !text.empty() && text.size() <= 10 && std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
    });
}

}  // namespace

RunningFilter find_service(const std::string &name_or_pid) {
    if (name_or_pid.empty()) throw Error("no service named: give its NAME or PID as alfctl list shows them");
    bool by_pid = all_digits(name_or_pid);
    auto named = [&](const FilterMetadata &m) {
        return m.name == name_or_pid || (by_pid && std::to_string(m.pid) == name_or_pid);
    };
    std::vector<RunningFilter> running;
    for (auto &filter : find_running_filters(named))  // the maps of the services named only
        if (in_own_pid_namespace(filter.metadata)) running.push_back(std::move(filter));
    std::vector<RunningFilter> matches;
    for (auto &filter : running)
        if (named(filter.metadata)) matches.push_back(std::move(filter));
    if (matches.size() > 1) {
        std::vector<RunningFilter> alive;
        for (auto &filter : matches)
            if (service_alive(filter.metadata)) alive.push_back(filter);
        if (alive.size() == 1) return std::move(alive.front());
    }
    if (matches.size() == 1) return std::move(matches.front());
    if (matches.empty()) {
        std::set<std::string> names;
        for (const auto &filter : running) names.insert(filter.metadata.name);
        throw Error("no running service is named " + quote_input(name_or_pid) +
                    (names.empty() ? std::string("; no filter of alfwrapper runs on this host")
                                   : "; running: " + join(std::vector<std::string>(names.begin(), names.end()))) +
                    " (alfctl list)");
    }
    std::vector<std::string> pids;
    for (const auto &filter : matches) pids.push_back(std::to_string(filter.metadata.pid));
    throw Error(std::to_string(matches.size()) + " running services are named " + quote_input(name_or_pid) +
                " (pids " + join(pids) + "): give the pid of the one you mean in place of the name");
}

bool service_alive(const FilterMetadata &metadata) {
    return metadata.pid > 0 && (::kill(static_cast<pid_t>(metadata.pid), 0) == 0 || errno == EPERM);
}

std::string describe_service(const RunningFilter &service) {
    return "service " + service.metadata.name + " (pid " + std::to_string(service.metadata.pid) + ")";
}

UniqueFd open_service_map(const RunningFilter &service, const std::string &map) {
    for (const auto &[name, id] : service.maps) {
        if (name != map) continue;
        UniqueFd fd(bpf_map_get_fd_by_id(id));
        if (!fd) throw system_error(describe_service(service) + ": map " + map + " cannot be opened", errno);
        return fd;
    }
    return UniqueFd();
}

}  // namespace alf
