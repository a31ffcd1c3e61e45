#include "launch/inherit.hpp"

#include "common/error.hpp"
#include "common/net_address.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace alf {

namespace {

constexpr int listen_fds_max = 4096;

std::string fd_text(int fd) { return "--inherit: fd " + std::to_string(fd); }

std::string what_fd_is(int fd, const struct stat &st) {
    char target[PATH_MAX] = "";
    ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target - 1);
    std::string where = n > 0 ? " " + std::string(target, static_cast<std::size_t>(n)) : "";
    if (S_ISREG(st.st_mode)) return "a regular file" + where;
    if (S_ISDIR(st.st_mode)) return "a directory" + where;
    if (S_ISFIFO(st.st_mode)) return "a pipe or FIFO" + where;
    if (S_ISCHR(st.st_mode)) return "a character device" + where;
    return "not a socket" + where;
}

int socket_option(int fd, int option) {
    int value = 0;
    socklen_t length = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) throw system_error(fd_text(fd) + ": getsockopt", errno);
    return value;
}

// A filter here judges TCP and UDP peers, and may run on Unix sockets; a
// netlink, packet, raw or SCTP socket is none of that.
Socket check_inherited_socket(int fd, const std::string &name) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        if (errno == EBADF)
            throw Error(fd_text(fd) + " is not open, though LISTEN_FDS counts it; whoever started alfwrapper passed "
                        "fewer sockets than it announced");
        throw system_error(fd_text(fd), errno);
    }
    const std::string purpose = ": alfwrapper filters TCP, UDP and Unix sockets only; check the socket unit's Listen*= lines";
    if (!S_ISSOCK(st.st_mode)) throw Error(fd_text(fd) + " is " + what_fd_is(fd, st) + ", not a socket" + purpose);

    Socket socket;
    socket.family = socket_option(fd, SO_DOMAIN);
    socket.type = socket_option(fd, SO_TYPE);
    int protocol = socket_option(fd, SO_PROTOCOL);
    bool ip = socket.family == AF_INET || socket.family == AF_INET6;
    bool served = ip ? (socket.type == SOCK_STREAM && protocol == IPPROTO_TCP) ||
                           (socket.type == SOCK_DGRAM && protocol == IPPROTO_UDP)
                     : socket.family == AF_UNIX &&
                           (socket.type == SOCK_STREAM || socket.type == SOCK_DGRAM || socket.type == SOCK_SEQPACKET);
    if (!served)
        throw Error(fd_text(fd) + " is a socket of family " + std::to_string(socket.family) + ", type " +
                    std::to_string(socket.type) + ", protocol " + std::to_string(protocol) + purpose);
    if (socket.type != SOCK_DGRAM && !socket_option(fd, SO_ACCEPTCONN))
        throw Error(fd_text(fd) + " is a connected stream socket, not a listening one (Accept=yes?); alfwrapper "
                    "filters listening sockets: use Accept=no");

    SocketAddress local;
    local.length = sizeof local.storage;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&local.storage), &local.length) != 0)
        throw system_error(fd_text(fd) + ": getsockname", errno);
    socket.description = "inherited fd " + std::to_string(fd) + " (" + socket_kind_text(socket.family, socket.type) +
                         " " + format_socket_address(local.storage, local.length) + ")";
    socket.name = name;
    socket.inherited_fd = fd;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) throw system_error(fd_text(fd) + ": cannot set FD_CLOEXEC", errno);
    socket.fd = UniqueFd(fd);
    return socket;
}

}  // namespace

ListenEnvironment parse_listen_environment(const char *fds, const char *pid, const char *names, long self_pid) {
    const std::string help = "; start alfwrapper --inherit from a socket unit or systemd-socket-activate";
    if (!fds) throw Error("--inherit: no sockets were passed to alfwrapper (LISTEN_FDS is not set)" + help);
    if (!pid)
        throw Error("--inherit: LISTEN_FDS is set but LISTEN_PID is not; the protocol requires it to name the "
                    "receiving process" + help);
    long listen_pid = with_context("--inherit: LISTEN_PID", [&] {
        return static_cast<long>(parse_unsigned(pid, LONG_MAX, "a process id"));
    });
    if (listen_pid != self_pid)
        throw Error("--inherit: LISTEN_PID=" + std::string(pid) + " is not alfwrapper's process id (" +
                    std::to_string(self_pid) + "): these sockets were meant for another process (a stale environment?)" +
                    help);
    ListenEnvironment env;
    env.count = with_context("--inherit: LISTEN_FDS", [&] {
        return static_cast<int>(parse_unsigned(fds, listen_fds_max, "a number of file descriptors"));
    });
    if (env.count == 0) throw Error("--inherit: LISTEN_FDS=0: no sockets were passed to alfwrapper" + help);
    if (!names) {
        env.names.assign(static_cast<std::size_t>(env.count), "unknown");
        return env;
    }
    std::string all = names;
    std::size_t start = 0;
    for (;;) {
        auto colon = all.find(':', start);
        env.names.push_back(all.substr(start, colon == std::string::npos ? colon : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (env.names.size() != static_cast<std::size_t>(env.count))
        throw Error("--inherit: LISTEN_FDNAMES='" + all + "' holds " + std::to_string(env.names.size()) +
                    " names but LISTEN_FDS=" + std::to_string(env.count) + "; the protocol requires one name per fd");
    return env;
}

std::vector<Socket> inherit_sockets() {
    ListenEnvironment env = parse_listen_environment(std::getenv("LISTEN_FDS"), std::getenv("LISTEN_PID"),
                                                     std::getenv("LISTEN_FDNAMES"), static_cast<long>(getpid()));
    std::vector<Socket> sockets;
    for (int i = 0; i < env.count; ++i)
        sockets.push_back(check_inherited_socket(listen_fds_start + i, env.names[static_cast<std::size_t>(i)]));
    for (const char *variable : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"}) unsetenv(variable);
    return sockets;
}

}  // namespace alf
