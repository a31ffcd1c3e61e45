// The hand-off: sockets to fds 3.., the socket-activation environment, and
// the exec. Nothing of alfwrapper survives it.
#pragma once

#include "launch/privileges.hpp"
#include "launch/sockets.hpp"

#include <optional>
#include <string>
#include <vector>

namespace alf {

// Finds PROGRAM as execvp would; throws Error with status 127 (not found) or
// 126 (not executable), as shells do.
std::string resolve_program(const std::string &program);

struct HandOff {
    std::vector<Socket> sockets;           // to fds 3.., in this order
    std::vector<std::string> argv;
    std::vector<std::string> environment;  // applied in order: "VAR=VALUE" sets, "VAR" unsets
    std::optional<Credentials> credentials;
};

// -E/--setenv values as "VAR=VALUE"; a bare VAR takes its value from
// alfwrapper's environment. Throws Error for a bad name, an unset VAR, or a
// LISTEN_* variable (the hand-off owns those).
std::vector<std::string> parse_setenv(const std::vector<std::string> &values);

// Moves the sockets to fds 3..3+n-1 (none clobbering another), drops
// privileges, sets the environment (HOME/USER/LOGNAME of the new user, then
// -E, then LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES), closes every other fd above
// 2 and execs. Returns only by throwing.
[[noreturn]] void exec_service(HandOff handoff);

// The LISTEN_FDNAMES value for these sockets.
std::string listen_fdnames(const std::vector<Socket> &sockets);

}  // namespace alf
