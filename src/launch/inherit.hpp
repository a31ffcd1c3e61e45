// Sockets alfwrapper itself was started with by socket activation
// (--inherit): LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, fds from 3 on.
#pragma once

#include "launch/sockets.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace alf {

struct ListenEnvironment {
    int count = 0;
    std::vector<std::string> names;  // one per fd; "unknown" when LISTEN_FDNAMES is unset
};

// The protocol's rules on the variables' values (nullptr: unset): LISTEN_PID
// must be this process, LISTEN_FDS a positive count, LISTEN_FDNAMES (if set)
// exactly that many names. Throws Error.
ListenEnvironment parse_listen_environment(const char *fds, const char *pid, const char *names, long self_pid);

// Takes fds 3..3+n-1 after checking that each is a TCP, UDP or Unix socket a
// filter can serve (an error names the fd otherwise), makes them CLOEXEC and
// unsets the variables, so nothing of alfwrapper's own activation is passed on.
std::vector<Socket> inherit_sockets();


}  // namespace alf
