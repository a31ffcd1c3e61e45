#include "common/service_name.hpp"

#include "common/util.hpp"

#include <string_view>

namespace alf {

namespace {

// "0::/system.slice/alf-echo.service" -> "alf-echo.service".
std::string systemd_unit() {
    std::string cgroup = read_kernel_file("/proc/self/cgroup"), unit;
    for (std::string_view rest = cgroup; !rest.empty();) {
        std::string_view line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        std::string_view last = line.substr(line.find_last_of('/') + 1);
        if (last.ends_with(".service")) unit = last;
    }
    return unit;
}

}  // namespace

std::string restart_socket_command() {
    std::string unit = systemd_unit();
    std::string base = unit.empty() ? "NAME" : unit.substr(0, unit.size() - 8);
    return "systemctl restart " + base + ".socket " + base + ".service";
}

std::string service_name(const std::string &given, const std::vector<std::string> &command) {
    if (!given.empty()) return given;
    if (std::string unit = systemd_unit(); !unit.empty()) return unit.substr(0, unit.size() - 8);
    if (command.empty()) return "";
    return command.front().substr(command.front().find_last_of('/') + 1);
}

}  // namespace alf
