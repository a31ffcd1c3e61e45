// The hand-off: sockets to fds 3.., the socket-activation environment, and
// the exec. Nothing of alfwrapper survives it.
#pragma once

#include "sockets.hpp"

#include <string>
#include <vector>

namespace alf {

// Finds PROGRAM as execvp would; throws Error with status 127 (not found) or
// 126 (not executable), as shells do.
std::string resolve_program(const std::string &program);

// Environment changes applied before the exec: "VAR=VALUE" sets, "VAR" unsets.
struct HandOff {
    std::vector<Socket> sockets;
    std::vector<std::string> argv;
    std::vector<std::string> environment;
};

// Moves the sockets to fds 3..3+n-1, closes every other fd above 2, sets
// LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES and execs. Returns only by throwing.
[[noreturn]] void exec_service(HandOff handoff);

// The LISTEN_FDNAMES value for these sockets.
std::string listen_fdnames(const std::vector<Socket> &sockets);

}  // namespace alf
