// What to listen on, as the user writes it: --listen SPEC, the seed form
// (--address/--port/--type) and socket names (name=, --fdname). Parsing only;
// no system calls (host names are resolved when the socket is created).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

enum class SocketKind { tcp, udp, unix_stream, unix_dgram };

// The address family a spec asks for: tcp4/udp4, tcp6/udp6, or either.
enum class IpVersion { any, ipv4, ipv6 };

struct ListenSpec {
    SocketKind kind = SocketKind::tcp;
    IpVersion version = IpVersion::any;
    std::string host;    // numeric address or host name; empty: the wildcard address
    std::string scope;   // [fe80::1%eth0]:80 -> "eth0"
    std::uint16_t port = 0;
    std::string path;    // Unix: "/run/x.sock", or "@name" for the abstract namespace

    std::string name;    // LISTEN_FDNAMES entry; empty: derived from the kind
    std::optional<int> backlog;
    bool reuseport = false;
    bool freebind = false;
    bool v6only = false;
    std::string bind_device;
    std::optional<unsigned> mode;  // permission bits of a Unix socket file

    std::string text;    // as the user wrote it, for messages

    bool is_unix() const { return kind == SocketKind::unix_stream || kind == SocketKind::unix_dgram; }
    bool is_stream() const { return kind == SocketKind::tcp || kind == SocketKind::unix_stream; }
};

// "[tcp|udp][4|6]:ADDRESS[,OPTION...]" or "unix:/path", "unix:@name",
// "unixdgram:..."; ADDRESS is PORT, IPv4:PORT, [IPv6]:PORT, [IPv6%dev]:PORT or
// HOST:PORT (HOST needs the protocol in front). Throws Error naming the fault.
ListenSpec parse_listen_spec(std::string_view text);

// The seed's --address/--port/--type form: one socket.
ListenSpec seed_listen_spec(const std::string &address, const std::string &port, const std::string &type);

// systemd's rules for a file descriptor name: 1..255 printable ASCII
// characters, no ':'. Throws Error.
void check_fd_name(std::string_view name);

// "a:b:c" (--fdname, repeatable) -> checked names, in order.
std::vector<std::string> parse_fd_names(const std::vector<std::string> &values);

// Gives the names, in order, to the specs that have no name= yet. Throws
// Error when there are more names than such specs.
void apply_fd_names(std::vector<ListenSpec> &specs, const std::vector<std::string> &names);

// "tcp", "udp", "unix", "unixdgram": the default socket name and message prefix.
const char *kind_name(SocketKind kind);

}  // namespace alf
