#include "launch/listen_spec.hpp"

#include "common/error.hpp"
#include "common/util.hpp"
#include "common/net_address.hpp"

#include <algorithm>
#include <climits>

namespace alf {

namespace {

constexpr std::size_t unix_path_max = 107;   // sizeof(sockaddr_un::sun_path) - 1
constexpr std::size_t interface_name_max = 15;  // IFNAMSIZ - 1
constexpr std::size_t fd_name_max = 255;

std::string quoted(std::string_view text) { return "'" + quote_input(text) + "'"; }

struct Protocol {
    std::string_view word;
    SocketKind kind;
    IpVersion version;
};

constexpr Protocol protocols[] = {
    {"tcp", SocketKind::tcp, IpVersion::any},       {"tcp4", SocketKind::tcp, IpVersion::ipv4},
    {"tcp6", SocketKind::tcp, IpVersion::ipv6},     {"udp", SocketKind::udp, IpVersion::any},
    {"udp4", SocketKind::udp, IpVersion::ipv4},     {"udp6", SocketKind::udp, IpVersion::ipv6},
    {"unix", SocketKind::unix_stream, IpVersion::any}, {"unixdgram", SocketKind::unix_dgram, IpVersion::any},
};

const Protocol *find_protocol(std::string_view word) {
    for (const auto &p : protocols)
        if (p.word == word) return &p;
    return nullptr;
}

bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') return false;
    bool letter = false;
    for (char c : host) {
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        letter = letter || alpha || c == '-' || c == '_';
        if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') return false;
    }
    return letter;  // all digits and dots: a mistyped IPv4 address, not a name
}

void parse_ip_address(ListenSpec &spec, std::string_view address) {
    if (address.empty()) throw Error("the address is missing: expected PORT, IPv4:PORT, [IPv6]:PORT or HOST:PORT");
    std::string_view port_text;
    if (address.front() == '[') {
        auto close = address.find(']');
        if (close == std::string_view::npos)
            throw Error("'[' without ']': write an IPv6 address as [ADDRESS]:PORT, e.g. [::1]:8080");
        std::string_view inside = address.substr(1, close - 1);
        auto percent = inside.find('%');
        if (percent != std::string_view::npos) {
            spec.scope = std::string(inside.substr(percent + 1));
            inside = inside.substr(0, percent);
            if (spec.scope.empty()) throw Error("'%' without an interface: write [ADDRESS%DEVICE]:PORT");
            if (spec.scope.size() > interface_name_max)
                throw Error("interface name " + quoted(spec.scope) + " is longer than 15 characters");
        }
        if (!parse_ipv6(inside)) throw Error(quoted(inside) + " in brackets is not an IPv6 address");
        spec.host = std::string(inside);
        std::string_view rest = address.substr(close + 1);
        if (rest.empty()) throw Error("the port is missing after ']': write [ADDRESS]:PORT");
        if (rest.front() != ':') throw Error("expected ':PORT' after ']', found " + quoted(rest));
        port_text = rest.substr(1);
        if (spec.version == IpVersion::ipv4)
            throw Error(quoted(spec.host) + " is an IPv6 address but the protocol asks for IPv4");
    } else if (auto colon = address.rfind(':'); colon == std::string_view::npos) {
        port_text = address;  // a bare port: the wildcard address
    } else {
        if (address.find(':') != colon)
            throw Error("an IPv6 address needs brackets: write [ADDRESS]:PORT, e.g. [::1]:8080");
        std::string_view host = address.substr(0, colon);
        port_text = address.substr(colon + 1);
        if (host.empty()) throw Error("the address before ':" + std::string(port_text) + "' is missing");
        if (host.find('%') != std::string_view::npos)
            throw Error("an interface (%DEVICE) is given in brackets with an IPv6 address: [ADDRESS%DEVICE]:PORT; "
                        "for IPv4 use bindtodevice=DEVICE");
        if (parse_ipv4(host)) {
            if (spec.version == IpVersion::ipv6)
                throw Error(quoted(host) + " is an IPv4 address but the protocol asks for IPv6");
        } else if (!is_host_name(host)) {
            throw Error(quoted(host) + " is neither an IPv4 address nor a host name");
        }
        spec.host = std::string(host);
    }
    if (port_text.empty()) throw Error("the port is missing");
    spec.port = parse_port(port_text);
}

void parse_unix_path(ListenSpec &spec, std::string_view path) {
    if (path.empty()) throw Error("the socket path is missing: write unix:/PATH or unix:@NAME");
    if (path.front() != '/' && path.front() != '@')
        throw Error(quoted(path) + ": a Unix socket path must be absolute (/PATH), or @NAME for the abstract "
                    "namespace");
    if (path == "@") throw Error("the abstract socket name after '@' is missing");
    if (path.size() > unix_path_max)
        throw Error("the socket path is " + std::to_string(path.size()) + " characters long; Unix sockets allow " +
                    std::to_string(unix_path_max));
    spec.path = std::string(path);
}

void parse_option(ListenSpec &spec, std::string_view option, std::vector<std::string> &seen) {
    if (option.empty()) throw Error("empty option (two commas, or a trailing comma)");
    auto eq = option.find('=');
    std::string key(option.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = option.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) throw Error("option " + quoted(key) + " is given twice");
    seen.push_back(key);

    auto need_value = [&](const char *example) {
        if (!value || value->empty()) throw Error("option " + quoted(key) + " needs a value: " + example);
        return *value;
    };
    auto flag = [&](bool &out) {
        if (value) throw Error("option " + quoted(key) + " takes no value");
        out = true;
    };
    auto ip_only = [&] {
        if (spec.is_unix()) throw Error("option " + quoted(key) + " applies to TCP and UDP sockets, not Unix sockets");
    };

    if (key == "name") {
        auto name = need_value("name=NAME");
        with_context("name", [&] { check_fd_name(name); });
        spec.name = std::string(name);
    } else if (key == "backlog") {
        auto n = need_value("backlog=N");
        if (!spec.is_stream()) throw Error("option 'backlog' applies to stream sockets (tcp, unix), not datagrams");
        auto backlog = parse_unsigned(n, INT_MAX, "a backlog (1-2147483647)");
        if (backlog == 0) throw Error("backlog=0: the backlog must be at least 1");
        spec.backlog = static_cast<int>(backlog);
    } else if (key == "reuseport") {
        ip_only();
        flag(spec.reuseport);
    } else if (key == "freebind") {
        ip_only();
        flag(spec.freebind);
    } else if (key == "v6only") {
        ip_only();
        flag(spec.v6only);
        if (spec.version == IpVersion::ipv4 || parse_ipv4(spec.host))
            throw Error("option 'v6only' applies to IPv6 sockets, and this one is IPv4");
    } else if (key == "bindtodevice") {
        ip_only();
        auto device = need_value("bindtodevice=DEVICE");
        if (device.size() > interface_name_max)
            throw Error("interface name " + quoted(device) + " is longer than 15 characters");
        if (device.find('/') != std::string_view::npos || device.find(' ') != std::string_view::npos)
            throw Error(quoted(device) + " is not an interface name");
        spec.bind_device = std::string(device);
    } else if (key == "mode") {
        auto mode = need_value("mode=0660");
        if (!spec.is_unix() || spec.path.front() == '@')
            throw Error("option 'mode' applies to Unix sockets with a path (a file), not to " +
                        std::string(spec.is_unix() ? "abstract names" : "TCP or UDP"));
        if (mode.size() > 4 || mode.find_first_not_of("01234567") != std::string_view::npos)
            throw Error("mode=" + std::string(mode) + ": expected octal permission bits, e.g. 0660");
        spec.mode = static_cast<unsigned>(std::stoul(std::string(mode), nullptr, 8));
        if (*spec.mode > 0777) throw Error("mode=" + std::string(mode) + ": only permission bits (at most 0777)");
    } else {
        throw Error("unknown option " + quoted(key) +
                    " (expected name=, backlog=, reuseport, freebind, v6only, bindtodevice=, mode=)");
    }
}

}  // namespace

const char *kind_name(SocketKind kind) {
    switch (kind) {
    case SocketKind::tcp: return "tcp";
    case SocketKind::udp: return "udp";
    case SocketKind::unix_stream: return "unix";
    case SocketKind::unix_dgram: return "unixdgram";
    }
    return "?";
}

ListenSpec parse_listen_spec(std::string_view text) {
    return with_context("--listen " + quoted(text), [&] {
        ListenSpec spec;
        spec.text = std::string(text);
        if (text.empty()) throw Error("empty; expected e.g. tcp:8080, udp:[::1]:53 or unix:/run/app.sock");

        auto comma = text.find(',');
        std::string_view address = text.substr(0, comma);
        auto colon = address.find(':');
        bool unprefixed = colon == std::string_view::npos || address.front() == '[' ||
                          parse_ipv4(address.substr(0, colon));
        if (!unprefixed) {
            std::string_view word = address.substr(0, colon);
            if (parse_ipv6(address) || parse_ipv6(address.substr(0, address.rfind(':'))))
                throw Error("an IPv6 address needs brackets: write [ADDRESS]:PORT, e.g. [::1]:8080");
            const Protocol *protocol = find_protocol(word);
            if (!protocol)
                throw Error("unknown protocol " + quoted(word) +
                            " (expected tcp, udp, tcp4, tcp6, udp4, udp6, unix or unixdgram; a host name needs "
                            "the protocol in front: tcp:HOST:PORT)");
            spec.kind = protocol->kind;
            spec.version = protocol->version;
            address = address.substr(colon + 1);
        }
        if (spec.is_unix()) {
            // A path may hold commas only when no options follow; keep the rule simple: options start at the first comma.
            parse_unix_path(spec, address);
        } else {
            parse_ip_address(spec, address);
        }

        std::vector<std::string> seen;
        while (comma != std::string_view::npos) {
            auto next = text.find(',', comma + 1);
            parse_option(spec, text.substr(comma + 1, next == std::string_view::npos ? next : next - comma - 1), seen);
            comma = next;
        }
        return spec;
    });
}

ListenSpec seed_listen_spec(const std::string &address, const std::string &port, const std::string &type) {
    ListenSpec spec;
    if (!parse_ip(address))
        throw Error("--address '" + address + "': not a numeric IPv4 or IPv6 address (e.g. ::, 0.0.0.0, 127.0.0.1)");
    spec.host = address;
    spec.port = with_context("--port", [&] { return parse_port(port); });
    if (type == "SOCK_STREAM" || type == "stream" || type == "tcp") spec.kind = SocketKind::tcp;
    else if (type == "SOCK_DGRAM" || type == "dgram" || type == "udp") spec.kind = SocketKind::udp;
    else throw Error("--type '" + type + "': expected SOCK_STREAM or SOCK_DGRAM");
    spec.text = address + " port " + port;
    return spec;
}

void check_fd_name(std::string_view name) {
    if (name.empty()) throw Error("a socket name cannot be empty");
    if (name.size() > fd_name_max)
        throw Error("socket name is " + std::to_string(name.size()) + " characters long (at most 255)");
    for (char c : name) {
        if (c == ':') throw Error("socket name " + quoted(name) + " contains ':', which separates names in LISTEN_FDNAMES");
        if (c < 0x20 || c > 0x7e)
            throw Error("socket name " + quoted(name) + " contains a character that is not printable ASCII");
    }
}

std::vector<std::string> parse_fd_names(const std::vector<std::string> &values) {
    std::vector<std::string> names;
    for (const auto &value : values) {
        std::size_t start = 0;
        for (;;) {
            auto colon = value.find(':', start);
            std::string name = value.substr(start, colon == std::string::npos ? colon : colon - start);
            with_context("--fdname " + quoted(value), [&] { check_fd_name(name); });
            names.push_back(name);
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
    }
    return names;
}

void apply_fd_names(std::vector<ListenSpec> &specs, const std::vector<std::string> &names) {
    auto name = names.begin();
    for (auto &spec : specs)
        if (spec.name.empty() && name != names.end()) spec.name = *name++;
    if (name != names.end())
        throw Error("--fdname gives " + std::to_string(names.size()) + " names, but only " +
                    std::to_string(names.size() - static_cast<std::size_t>(names.end() - name)) +
                    " socket(s) created here lack a name= (inherited sockets keep the names they came with)");
}

}  // namespace alf
