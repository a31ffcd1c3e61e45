// The name alfctl knows a running service by.
#pragma once

#include <string>
#include <vector>

namespace alf {

// --name when given; else the systemd unit the process runs in (the last
// component of its cgroup, when it ends in .service); else PROGRAM's base name.
std::string service_name(const std::string &given, const std::vector<std::string> &command);

// "systemctl restart alf-echo.socket alf-echo.service" when the process runs
// in a systemd service, else the same with NAME: how a socket is made anew.
std::string restart_socket_command();

}  // namespace alf
