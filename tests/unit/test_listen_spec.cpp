#include "common/error.hpp"
#include "launch/listen_spec.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace alf;

namespace {

struct Valid {
    const char *text;
    SocketKind kind;
    IpVersion version;
    const char *host;
    unsigned port;
    const char *path;
};

const Valid valid_specs[] = {
    {"8080", SocketKind::tcp, IpVersion::any, "", 8080, ""},
    {"tcp:8080", SocketKind::tcp, IpVersion::any, "", 8080, ""},
    {"udp:53", SocketKind::udp, IpVersion::any, "", 53, ""},
    {"tcp4:80", SocketKind::tcp, IpVersion::ipv4, "", 80, ""},
    {"udp6:5353", SocketKind::udp, IpVersion::ipv6, "", 5353, ""},
    {"127.0.0.1:8080", SocketKind::tcp, IpVersion::any, "127.0.0.1", 8080, ""},
    {"[::1]:8080", SocketKind::tcp, IpVersion::any, "::1", 8080, ""},
    {"tcp:[::]:443", SocketKind::tcp, IpVersion::any, "::", 443, ""},
    {"udp4:10.1.2.3:65535", SocketKind::udp, IpVersion::ipv4, "10.1.2.3", 65535, ""},
    {"tcp6:[2001:db8::1]:1", SocketKind::tcp, IpVersion::ipv6, "2001:db8::1", 1, ""},
    {"tcp:localhost:80", SocketKind::tcp, IpVersion::any, "localhost", 80, ""},
    {"tcp4:db-1.example.org:5432", SocketKind::tcp, IpVersion::ipv4, "db-1.example.org", 5432, ""},
    {"unix:/run/app.sock", SocketKind::unix_stream, IpVersion::any, "", 0, "/run/app.sock"},
    {"unix:@app", SocketKind::unix_stream, IpVersion::any, "", 0, "@app"},
    {"unixdgram:/run/log.sock", SocketKind::unix_dgram, IpVersion::any, "", 0, "/run/log.sock"},
};

struct Malformed {
    const char *text;
    const char *message;  // a part of the error message
};

const Malformed malformed_specs[] = {
    {"", "empty"},
    {"tcp:", "address is missing"},
    {"tcp:127.0.0.1:", "port is missing"},
    {"tcp:0", "port 0"},
    {"tcp:65536", "out of range"},
    {"udp:-1", "cannot be negative"},
    {"tcp:http", "not a number"},
    {"tcp:[::1", "'[' without ']'"},
    {"tcp:[::1]", "port is missing after ']'"},
    {"tcp:[::1]8080", "expected ':PORT' after ']'"},
    {"tcp:[127.0.0.1]:80", "not an IPv6 address"},
    {"tcp:[fe80::1%]:80", "'%' without an interface"},
    {"tcp:[fe80::1%averyverylongname0]:80", "longer than 15"},
    {"::1:8080", "needs brackets"},
    {"tcp:::1:8080", "needs brackets"},
    {"tcp:1.2.3.256:80", "neither an IPv4 address nor a host name"},
    {"tcp:127.0.0.1%lo:80", "in brackets"},
    {"tcp::80", "address before ':80' is missing"},
    {"sctp:80", "unknown protocol 'sctp'"},
    {"TCP:80", "unknown protocol 'TCP'"},
    {"localhost:80", "needs the protocol in front"},
    {"tcp4:[::1]:80", "asks for IPv4"},
    {"udp6:127.0.0.1:53", "asks for IPv6"},
    {"tcp:80,", "empty option"},
    {"tcp:80,,name=a", "empty option"},
    {"tcp:80,nodelay", "unknown option 'nodelay'"},
    {"tcp:80,name", "needs a value"},
    {"tcp:80,name=", "needs a value"},
    {"tcp:80,name=a:b", "contains ':'"},
    {"tcp:80,name=a,name=b", "given twice"},
    {"tcp:80,reuseport=yes", "takes no value"},
    {"tcp:80,backlog=0", "at least 1"},
    {"tcp:80,backlog=lots", "not a number"},
    {"udp:53,backlog=16", "stream sockets"},
    {"tcp4:80,v6only", "IPv4"},
    {"tcp:127.0.0.1:80,v6only", "IPv4"},
    {"tcp:80,bindtodevice=", "needs a value"},
    {"tcp:80,bindtodevice=averyverylongname0", "longer than 15"},
    {"tcp:80,mode=0660", "Unix sockets with a path"},
    {"unix:", "path is missing"},
    {"unix:run/app.sock", "must be absolute"},
    {"unix:@", "name after '@' is missing"},
    {"unix:@app,mode=0600", "abstract"},
    {"unix:/run/app.sock,mode=rw", "octal"},
    {"unix:/run/app.sock,mode=1777", "at most 0777"},
    {"unix:/run/app.sock,reuseport", "not Unix sockets"},
    {"unixdgram:/run/log.sock,backlog=5", "stream sockets"},
};

}  // namespace

TEST_CASE("valid listen specs") {
    for (const auto &v : valid_specs) {
        CAPTURE(v.text);
        ListenSpec spec = parse_listen_spec(v.text);
        CHECK(spec.kind == v.kind);
        CHECK(spec.version == v.version);
        CHECK(spec.host == v.host);
        CHECK(spec.port == v.port);
        CHECK(spec.path == v.path);
        CHECK(spec.text == v.text);
    }
}

TEST_CASE("listen spec options") {
    auto spec = parse_listen_spec("tcp:[fe80::1%eth0]:80,name=web,backlog=128,reuseport,freebind,v6only,"
                                  "bindtodevice=eth0");
    CHECK(spec.host == "fe80::1");
    CHECK(spec.scope == "eth0");
    CHECK(spec.name == "web");
    CHECK(spec.backlog == 128);
    CHECK(spec.reuseport);
    CHECK(spec.freebind);
    CHECK(spec.v6only);
    CHECK(spec.bind_device == "eth0");

    spec = parse_listen_spec("unix:/run/app.sock,mode=0660,name=admin");
    CHECK(spec.mode == 0660u);
    CHECK(spec.name == "admin");
    CHECK_FALSE(parse_listen_spec("udp:53").backlog.has_value());
}

TEST_CASE("malformed listen specs: one clear message each") {
    CHECK(std::size(malformed_specs) >= 15);
    for (const auto &m : malformed_specs) {
        CAPTURE(m.text);
        try {
            parse_listen_spec(m.text);
            FAIL("accepted: ", m.text);
        } catch (const Error &e) {
            std::string message = e.what();
            CHECK_MESSAGE(message.find(m.message) != std::string::npos, message);
            CHECK(message.starts_with("--listen '" + std::string(m.text) + "': "));
            CHECK(e.exit_status() == exit_usage);
        }
    }
}

TEST_CASE("the seed form") {
    auto spec = seed_listen_spec("::", "4242", "SOCK_STREAM");
    CHECK(spec.kind == SocketKind::tcp);
    CHECK(spec.host == "::");
    CHECK(spec.port == 4242);
    CHECK(seed_listen_spec("127.0.0.1", "53", "SOCK_DGRAM").kind == SocketKind::udp);
    CHECK_THROWS_AS(seed_listen_spec("nowhere", "1", "SOCK_STREAM"), Error);
    CHECK_THROWS_AS(seed_listen_spec("::", "0", "SOCK_STREAM"), Error);
    CHECK_THROWS_AS(seed_listen_spec("::", "1", "SOCK_RAW"), Error);
}

TEST_CASE("socket names follow systemd's rules") {
    CHECK_NOTHROW(check_fd_name("http"));
    CHECK_NOTHROW(check_fd_name("a name with spaces~"));
    CHECK_NOTHROW(check_fd_name(std::string(255, 'x')));
    CHECK_THROWS_AS(check_fd_name(""), Error);
    CHECK_THROWS_AS(check_fd_name(std::string(256, 'x')), Error);
    CHECK_THROWS_AS(check_fd_name("a:b"), Error);
    CHECK_THROWS_AS(check_fd_name("tab\there"), Error);
    CHECK_THROWS_AS(check_fd_name("caf\xc3\xa9"), Error);

    CHECK(parse_fd_names({"a:b", "c"}) == std::vector<std::string>{"a", "b", "c"});
    CHECK_THROWS_AS(parse_fd_names({"a::b"}), Error);
}

TEST_CASE("--fdname names the created sockets that have no name=") {
    std::vector<ListenSpec> specs = {seed_listen_spec("::", "1", "SOCK_STREAM"), parse_listen_spec("udp:2,name=dns"),
                                     parse_listen_spec("tcp:3")};
    apply_fd_names(specs, {"web", "admin"});
    CHECK(specs[0].name == "web");
    CHECK(specs[1].name == "dns");
    CHECK(specs[2].name == "admin");
    CHECK_THROWS_AS(apply_fd_names(specs, {"extra"}), Error);
}
