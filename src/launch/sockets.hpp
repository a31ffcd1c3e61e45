// The service's sockets: creating them unbound from a ListenSpec (host names
// resolved, options set), attaching the filter, and only then binding (no
// unfiltered window).
#pragma once

#include "launch/listen_spec.hpp"
#include "common/unique_fd.hpp"

#include <linux/filter.h>
#include <sys/socket.h>

#include <optional>
#include <span>
#include <string>

namespace alf {

// SD_LISTEN_FDS_START: the protocol hands sockets over from fd 3 on.
inline constexpr int listen_fds_start = 3;

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

struct Socket {
    UniqueFd fd;
    std::string name;         // LISTEN_FDNAMES entry
    std::string description;  // "tcp [::]:4242", "unix /run/app.sock"
    int family = 0;
    int type = 0;
    int inherited_fd = -1;    // the fd it came in as (--inherit); -1: created here

    // Where and how a socket created here is bound.
    SocketAddress address;
    int backlog = 4096;
    std::string unix_path;    // a file to create (not for abstract names)
    std::optional<unsigned> unix_mode;

    bool inherited() const { return inherited_fd >= 0; }
};

// A new socket, CLOEXEC, options set, not yet bound. Host names are resolved
// here; a name with several addresses is an error that lists them.
Socket create_socket(const ListenSpec &spec);

// SO_ATTACH_BPF then SO_LOCK_FILTER: the service cannot remove or replace it.
void attach_locked(const Socket &socket, int program_fd);

// What an attached filter costs a socket: the kernel charges its size
// (struct sk_filter and the translated program) to the socket's option
// memory, limited by net.core.optmem_max, when it is attached and again for
// every socket accepted from a listener that has it (a child that cannot be
// charged is dropped).
struct FilterCharge {
    std::uint32_t bytes = 0;       // charged on attach (0 when it did not fit)
    std::uint32_t optmem_max = 0;  // the limit, in this network namespace
    bool fits = false;
};

// Attaches the program to a fresh, unbound socket and measures the charge
// (SO_MEMINFO); the socket is closed again.
FilterCharge measure_filter_charge(int program_fd);

// net.core.optmem_max of the current network namespace; 0 if unknown.
std::uint32_t read_optmem_max();

// SO_ATTACH_FILTER then SO_LOCK_FILTER, for a classic program. When the
// kernel refuses it on a TCP socket (only CAP_NET_ADMIN may), the error
// says `if_tcp_refused`.
void attach_classic_locked(const Socket &socket, std::span<const sock_filter> program,
                           const std::string &if_tcp_refused);

// Binds (replacing a stale Unix socket file), and for streams listens.
void bind_and_listen(Socket &socket);

// "[::1]:80", "127.0.0.1:80", "/run/app.sock", "@name".
std::string format_socket_address(const sockaddr_storage &address, socklen_t length);

// "tcp", "udp", "unix", "unixdgram", "unixseqpacket" for a family and type.
std::string socket_kind_text(int family, int type);

}  // namespace alf
