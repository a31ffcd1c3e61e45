#include "sockets.hpp"

#include "error.hpp"
#include "net_address.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace alf {

namespace {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

SocketAddress socket_address(const ListenSpec &spec) {
    auto ip = parse_ip(spec.address);
    if (!ip) throw Error("listen address '" + spec.address + "' is not a numeric IPv4 or IPv6 address");
    SocketAddress sa;
    if (ip->family == Family::ipv4) {
        auto *in = reinterpret_cast<sockaddr_in *>(&sa.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(spec.port);
        std::memcpy(&in->sin_addr, ip->bytes.data(), 4);
        sa.length = sizeof *in;
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&sa.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(spec.port);
        std::memcpy(&in6->sin6_addr, ip->bytes.data(), 16);
        sa.length = sizeof *in6;
    }
    return sa;
}

std::string describe(const ListenSpec &spec, int family) {
    std::string proto = spec.transport == Transport::tcp ? "tcp" : "udp";
    return proto + " " + (family == AF_INET6 ? "[" + spec.address + "]" : spec.address) + ":" + std::to_string(spec.port);
}

void set_int_option(int fd, int level, int option, int value, const std::string &what) {
    if (setsockopt(fd, level, option, &value, sizeof value) != 0) throw system_error(what, errno);
}

}  // namespace

ListenSpec seed_listen_spec(const std::string &address, const std::string &port, const std::string &type) {
    ListenSpec spec;
    spec.address = address;
    if (!parse_ip(address))
        throw Error("--address '" + address + "': not a numeric IPv4 or IPv6 address (e.g. ::, 0.0.0.0, 127.0.0.1)");
    spec.port = with_context("--port", [&] { return parse_port(port); });
    if (type == "SOCK_STREAM" || type == "stream" || type == "tcp") spec.transport = Transport::tcp;
    else if (type == "SOCK_DGRAM" || type == "dgram" || type == "udp") spec.transport = Transport::udp;
    else throw Error("--type '" + type + "': expected SOCK_STREAM or SOCK_DGRAM");
    spec.text = address + " port " + port;
    return spec;
}

Socket create_socket(const ListenSpec &spec) {
    SocketAddress sa = socket_address(spec);
    Socket socket;
    socket.family = sa.storage.ss_family;
    socket.type = spec.transport == Transport::tcp ? SOCK_STREAM : SOCK_DGRAM;
    socket.description = describe(spec, socket.family);
    socket.name = spec.name.empty() ? (spec.transport == Transport::tcp ? "tcp" : "udp") : spec.name;
    socket.fd = UniqueFd(::socket(socket.family, socket.type | SOCK_CLOEXEC, 0));
    if (!socket.fd) throw system_error("cannot create a socket for " + socket.description, errno);
    if (socket.type == SOCK_STREAM)
        set_int_option(socket.fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, socket.description + ": SO_REUSEADDR");
    if (socket.family == AF_INET6)  // "::" serves IPv4 clients too, as systemd's sockets do
        set_int_option(socket.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, socket.description + ": IPV6_V6ONLY");
    return socket;
}

void attach_locked(const Socket &socket, int program_fd) {
    if (setsockopt(socket.fd.get(), SOL_SOCKET, SO_ATTACH_BPF, &program_fd, sizeof program_fd) != 0) {
        int err = errno;
        if (err == ENOMEM)
            throw Error(socket.description + ": cannot attach the filter: it does not fit the socket's option memory "
                        "(net.core.optmem_max = " + std::to_string(read_optmem_max()) +
                        " bytes, and every accepted socket is charged the same again); make the program smaller "
                        "or raise the sysctl (`alfctl check` shows the size)", exit_system);
        throw system_error(socket.description + ": cannot attach the filter (SO_ATTACH_BPF)", err);
    }
    set_int_option(socket.fd.get(), SOL_SOCKET, SO_LOCK_FILTER, 1, socket.description + ": SO_LOCK_FILTER");
}

void bind_and_listen(Socket &socket, const ListenSpec &spec) {
    SocketAddress sa = socket_address(spec);
    if (::bind(socket.fd.get(), reinterpret_cast<sockaddr *>(&sa.storage), sa.length) != 0) {
        int err = errno;
        if (err == EADDRINUSE)
            throw Error(socket.description + ": the address is already in use; stop whatever listens there "
                        "(see `ss -ltnup`) or pick another port", exit_system);
        if (err == EACCES)
            throw Error(socket.description + ": permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE",
                        exit_system);
        if (err == EADDRNOTAVAIL)
            throw Error(socket.description + ": the address is not configured on this host", exit_system);
        throw system_error(socket.description + ": cannot bind", err);
    }
    if (socket.type == SOCK_STREAM && ::listen(socket.fd.get(), spec.backlog) != 0)
        throw system_error(socket.description + ": cannot listen", errno);
}

std::uint32_t read_optmem_max() {
    UniqueFd fd(::open("/proc/sys/net/core/optmem_max", O_RDONLY | O_CLOEXEC));
    char text[32] = "";
    if (!fd || ::read(fd.get(), text, sizeof text - 1) <= 0) return 0;
    return static_cast<std::uint32_t>(std::strtoul(text, nullptr, 10));
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
