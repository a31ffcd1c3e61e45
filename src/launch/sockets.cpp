#include "launch/sockets.hpp"

#include "common/error.hpp"
#include "common/util.hpp"
#include "common/net_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace alf {

namespace {

SocketAddress ip_socket_address(const IpAddress &ip, std::uint16_t port, std::uint32_t scope_id) {
    SocketAddress sa;
    if (ip.family == Family::ipv4) {
        auto *in = reinterpret_cast<sockaddr_in *>(&sa.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, ip.bytes.data(), 4);
        sa.length = sizeof *in;
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&sa.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_scope_id = scope_id;
        std::memcpy(&in6->sin6_addr, ip.bytes.data(), 16);
        sa.length = sizeof *in6;
    }
    return sa;
}

IpAddress ip_from_sockaddr(const sockaddr *sa) {
    IpAddress ip;
    if (sa->sa_family == AF_INET) {
        std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in *>(sa)->sin_addr, 4);
    } else {
        ip.family = Family::ipv6;
        std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6 *>(sa)->sin6_addr, 16);
    }
    return ip;
}

// The umask cleared while it lives, restored after.
class ClearedUmask {
public:
    ClearedUmask() : saved_(umask(0)) {}
    ~ClearedUmask() { umask(saved_); }
    ClearedUmask(const ClearedUmask &) = delete;
    ClearedUmask &operator=(const ClearedUmask &) = delete;

private:
    mode_t saved_;
};

unsigned interface_index(const std::string &device, const std::string &what) {
    if (unsigned index = if_nametoindex(device.c_str())) return index;
    throw Error(what + ": there is no network interface named '" + device + "' (see `ip link`)");
}

// A host name's one address. Several addresses are an error, not a silent
// pick: the service would listen on a different family depending on the resolver.
IpAddress resolve_host(const ListenSpec &spec) {
    addrinfo hints{};
    hints.ai_family = spec.version == IpVersion::ipv4 ? AF_INET : spec.version == IpVersion::ipv6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = spec.kind == SocketKind::tcp ? SOCK_STREAM : SOCK_DGRAM;
    addrinfo *found = nullptr;
    int rc = getaddrinfo(spec.host.c_str(), nullptr, &hints, &found);
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> result(found, freeaddrinfo);
    if (rc != 0)
        throw Error("cannot resolve host name '" + spec.host + "': " + gai_strerror(rc) +
                    "; give a numeric address or fix the name", rc == EAI_SYSTEM ? exit_system : exit_usage);
    std::vector<IpAddress> addresses;
    for (addrinfo *ai = result.get(); ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        IpAddress ip = ip_from_sockaddr(ai->ai_addr);
        if (std::find(addresses.begin(), addresses.end(), ip) == addresses.end()) addresses.push_back(ip);
    }
    if (addresses.empty()) throw Error("host name '" + spec.host + "' has no IPv4 or IPv6 address");
    if (addresses.size() > 1) {
        std::vector<std::string> list;
        std::string example;
        for (const auto &ip : addresses) {
            list.push_back(format_ip(ip));
            std::string host = ip.family == Family::ipv6 ? "[" + format_ip(ip) + "]" : format_ip(ip);
            example += std::string(" -l ") + kind_name(spec.kind) + ":" + host + ":" + std::to_string(spec.port);
        }
        throw Error("host name '" + spec.host + "' resolves to " + std::to_string(addresses.size()) +
                    " addresses (" + join(list) + "); alfwrapper does not pick one: listen on each (" + example.substr(1) +
                    ") or choose a family (" + kind_name(spec.kind) + "4:, " + kind_name(spec.kind) + "6:)");
    }
    return addresses.front();
}

IpAddress listen_ip(const ListenSpec &spec) {
    if (spec.host.empty()) return *parse_ip(spec.version == IpVersion::ipv4 ? "0.0.0.0" : "::");
    if (auto ip = parse_ip(spec.host)) return *ip;
    return resolve_host(spec);
}

void set_int_option(int fd, int level, int option, int value, const std::string &what) {
    if (setsockopt(fd, level, option, &value, sizeof value) != 0) throw system_error(what, errno);
}

void set_ip_options(const Socket &socket, const ListenSpec &spec) {
    int fd = socket.fd.get();
    const std::string &d = socket.description;
    if (socket.type == SOCK_STREAM) set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, d + ": SO_REUSEADDR");
    if (socket.family == AF_INET6) {
        // A wildcard or "::" without a version serves IPv4 clients too, as systemd's sockets do.
        bool v6only = spec.v6only || spec.version == IpVersion::ipv6;
        set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? 1 : 0, d + ": IPV6_V6ONLY");
    } else if (spec.v6only) {
        throw Error(d + ": option 'v6only' applies to IPv6 sockets, and '" + spec.host + "' is IPv4");
    }
    if (spec.reuseport) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, d + ": SO_REUSEPORT");
    if (spec.freebind) {
        if (socket.family == AF_INET6) set_int_option(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, d + ": IPV6_FREEBIND");
        else set_int_option(fd, IPPROTO_IP, IP_FREEBIND, 1, d + ": IP_FREEBIND");
    }
    if (!spec.bind_device.empty()) {
        interface_index(spec.bind_device, d + ": bindtodevice");
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, spec.bind_device.c_str(),
                       static_cast<socklen_t>(spec.bind_device.size())) != 0)
            throw system_error(d + ": SO_BINDTODEVICE " + spec.bind_device, errno);
    }
}

SocketAddress unix_socket_address(const std::string &path) {
    SocketAddress sa;
    auto *un = reinterpret_cast<sockaddr_un *>(&sa.storage);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    if (path.front() == '@') un->sun_path[0] = '\0';  // abstract: no file, no trailing NUL in the length
    sa.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path.front() == '@' ? 0 : 1));
    return sa;
}

// A socket file nobody listens on is left behind by a service that stopped;
// it is replaced. Anything else at the path is someone's: refuse.
void remove_stale_socket_file(const Socket &socket) {
    const std::string &path = socket.unix_path;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw system_error(socket.description + ": cannot inspect " + path, errno);
    }
    if (!S_ISSOCK(st.st_mode))
        throw Error(socket.description + ": " + path + " exists and is not a socket; alfwrapper replaces only stale "
                    "socket files: remove it or choose another path");
    UniqueFd probe(::socket(AF_UNIX, socket.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) throw system_error(socket.description + ": cannot create a socket", errno);
    if (connect(probe.get(), reinterpret_cast<const sockaddr *>(&socket.address.storage), socket.address.length) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS || errno == EPROTOTYPE)
        throw Error(socket.description + ": a process is listening on " + path + "; stop it or choose another path",
                    exit_system);
    if (errno != ECONNREFUSED) throw system_error(socket.description + ": cannot tell whether " + path + " is in use", errno);
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
        throw system_error(socket.description + ": cannot remove the stale socket file " + path, errno);
}

Error bind_error(const Socket &socket, int err) {
    const std::string &d = socket.description;
    if (!socket.unix_path.empty()) {
        std::string dir = socket.unix_path.substr(0, socket.unix_path.rfind('/'));
        if (err == ENOENT || err == ENOTDIR)
            return Error(d + ": the directory " + (dir.empty() ? "/" : dir) + " does not exist; create it first",
                         exit_system);
        if (err == EACCES) return Error(d + ": permission denied in " + dir, exit_system);
    }
    if (err == EADDRINUSE)
        return Error(d + ": the address is already in use; stop whatever listens there (see `ss -ltnupx`) or pick "
                     "another",
                     exit_system);
    if (err == EACCES)
        return Error(d + ": permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE", exit_system);
    if (err == EADDRNOTAVAIL)
        return Error(d + ": the address is not configured on this host (option freebind binds anyway)", exit_system);
    return system_error(d + ": cannot bind", err);
}

}  // namespace

std::string format_socket_address(const sockaddr_storage &address, socklen_t length) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET) {
        auto *in = reinterpret_cast<const sockaddr_in *>(&address);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (address.ss_family == AF_INET6) {
        auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&address);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        std::string scope;
        if (in6->sin6_scope_id) {
            char name[IF_NAMESIZE] = "";
            scope = "%" + std::string(if_indextoname(in6->sin6_scope_id, name) ? name : std::to_string(in6->sin6_scope_id));
        }
        return "[" + std::string(buf) + scope + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    if (address.ss_family == AF_UNIX) {
        auto *un = reinterpret_cast<const sockaddr_un *>(&address);
        auto path_length = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
        if (path_length == 0) return "(unbound)";
        if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, path_length - 1);
        return std::string(un->sun_path, strnlen(un->sun_path, path_length));
    }
    return "(family " + std::to_string(address.ss_family) + ")";
}

std::string socket_kind_text(int family, int type) {
    if (family == AF_UNIX)
        return type == SOCK_STREAM ? "unix" : type == SOCK_DGRAM ? "unixdgram" : "unixseqpacket";
    return type == SOCK_STREAM ? "tcp" : "udp";
}

Socket create_socket(const ListenSpec &spec) {
    Socket socket;
    socket.name = spec.name.empty() ? kind_name(spec.kind) : spec.name;
    socket.type = spec.is_stream() ? SOCK_STREAM : SOCK_DGRAM;
    if (spec.backlog) socket.backlog = *spec.backlog;
    if (spec.is_unix()) {
        socket.family = AF_UNIX;
        socket.address = unix_socket_address(spec.path);
        if (spec.path.front() == '/') socket.unix_path = spec.path;
        socket.unix_mode = spec.mode;
        socket.description = std::string(kind_name(spec.kind)) + " " + spec.path;
    } else {
        IpAddress ip = with_context("--listen '" + spec.text + "'", [&] { return listen_ip(spec); });
        std::uint32_t scope_id = 0;
        if (!spec.scope.empty())
            scope_id = spec.scope.find_first_not_of("0123456789") == std::string::npos
                           ? static_cast<std::uint32_t>(std::stoul(spec.scope))
                           : interface_index(spec.scope, "--listen '" + spec.text + "'");
        socket.address = ip_socket_address(ip, spec.port, scope_id);
        socket.family = socket.address.storage.ss_family;
        socket.description = std::string(kind_name(spec.kind)) + " " +
                             format_socket_address(socket.address.storage, socket.address.length);
        if (!spec.host.empty() && !parse_ip(spec.host)) socket.description += " (" + spec.host + ")";
    }
    socket.fd = UniqueFd(::socket(socket.family, socket.type | SOCK_CLOEXEC, 0));
    if (!socket.fd) throw system_error("cannot create a socket for " + socket.description, errno);
    if (!spec.is_unix()) set_ip_options(socket, spec);
    return socket;
}

namespace {

// The kernel charges an attached filter to the socket's option memory.
Error over_optmem(const Socket &socket) {
    return Error(socket.description + ": cannot attach the filter: it does not fit the socket's option memory "
                 "(net.core.optmem_max = " + std::to_string(read_optmem_max()) +
                 " bytes, and every accepted socket is charged the same again); make the program smaller "
                 "or raise the sysctl (`alfctl check` shows the size)", exit_system);
}

}  // namespace

void attach_locked(const Socket &socket, int program_fd) {
    if (setsockopt(socket.fd.get(), SOL_SOCKET, SO_ATTACH_BPF, &program_fd, sizeof program_fd) != 0) {
        int err = errno;
        if (err == ENOMEM) throw over_optmem(socket);
        if (err == EPERM && socket.inherited())
            throw Error(socket.description + ": cannot attach the filter: the socket already carries a locked filter",
                        exit_system);
        throw system_error(socket.description + ": cannot attach the filter (SO_ATTACH_BPF)", err);
    }
    set_int_option(socket.fd.get(), SOL_SOCKET, SO_LOCK_FILTER, 1, socket.description + ": SO_LOCK_FILTER");
}

void attach_classic_locked(const Socket &socket, std::span<const sock_filter> program,
                           const std::string &if_tcp_refused) {
    sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter *>(program.data())};
    if (setsockopt(socket.fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
        int err = errno, locked = 0;
        socklen_t size = sizeof locked;
        getsockopt(socket.fd.get(), SOL_SOCKET, SO_LOCK_FILTER, &locked, &size);
        if (err == EPERM && locked)
            throw Error(socket.description + ": cannot attach the filter: the socket already carries a locked filter",
                        exit_system);
        if (err == EPERM && socket.type == SOCK_STREAM && socket.family != AF_UNIX)
            throw Error(socket.description + ": cannot attach the classic BPF filter: " + if_tcp_refused, exit_system);
        if (err == ENOMEM) throw over_optmem(socket);
        throw system_error(socket.description + ": cannot attach the classic BPF filter (SO_ATTACH_FILTER)", err);
    }
    set_int_option(socket.fd.get(), SOL_SOCKET, SO_LOCK_FILTER, 1, socket.description + ": SO_LOCK_FILTER");
}

void bind_and_listen(Socket &socket) {
    int fd = socket.fd.get();
    std::optional<ClearedUmask> cleared;
    if (!socket.unix_path.empty()) {
        remove_stale_socket_file(socket);
        // The file takes the socket inode's mode, minus the umask: with the
        // umask cleared for the bind it is created with exactly mode=, never wider.
        if (socket.unix_mode && fchmod(fd, *socket.unix_mode) != 0)
            throw system_error(socket.description + ": cannot set mode", errno);
        if (socket.unix_mode) cleared.emplace();
    }
    int rc = ::bind(fd, reinterpret_cast<const sockaddr *>(&socket.address.storage), socket.address.length);
    int err = errno;
    cleared.reset();
    if (rc != 0) throw bind_error(socket, err);
    if (socket.type == SOCK_STREAM && ::listen(fd, socket.backlog) != 0)
        throw system_error(socket.description + ": cannot listen", errno);
}

std::uint32_t read_optmem_max() {
    return static_cast<std::uint32_t>(std::strtoul(read_kernel_file("/proc/sys/net/core/optmem_max").c_str(), nullptr, 10));
}

FilterCharge measure_filter_charge(int program_fd) {
    FilterCharge charge;
    charge.optmem_max = read_optmem_max();
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw system_error("cannot create a socket to measure the filter's size", errno);
    auto option_memory = [&] {
        std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
        socklen_t size = sizeof meminfo;
        if (getsockopt(fd.get(), SOL_SOCKET, SO_MEMINFO, meminfo, &size) != 0)
            throw system_error("cannot read a socket's memory use (SO_MEMINFO)", errno);
        return meminfo[SK_MEMINFO_OPTMEM];
    };
    std::uint32_t before = option_memory();
    if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_BPF, &program_fd, sizeof program_fd) != 0) {
        if (errno == ENOMEM) return charge;
        throw system_error("cannot attach the filter to a socket (SO_ATTACH_BPF)", errno);
    }
    charge.bytes = option_memory() - before;
    charge.fits = true;
    return charge;
}

}  // namespace alf
