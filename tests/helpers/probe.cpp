// A test service: reports what it was handed (fds, sockets, filters, the
// socket-activation environment, credentials) as JSON, then optionally serves
// its sockets: TCP echo, UDP reply, and a log of every peer it saw.
//
//   probe [--report FILE] [--serve] [--peers FILE]
#include <arpa/inet.h>
#include <net/if.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

std::string address_text(const sockaddr_storage &ss) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        auto *in = reinterpret_cast<const sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    if (ss.ss_family == AF_UNIX) {
        auto *un = reinterpret_cast<const sockaddr_un *>(&ss);
        if (un->sun_path[0] == 0) return "@" + std::string(un->sun_path + 1);
        return un->sun_path;
    }
    return "?";
}

int int_option(int fd, int level, int name, int &err) {
    int value = 0;
    socklen_t len = sizeof value;
    err = getsockopt(fd, level, name, &value, &len) == 0 ? 0 : errno;
    return value;
}

json socket_info(int fd) {
    json s;
    int err;
    s["domain"] = int_option(fd, SOL_SOCKET, SO_DOMAIN, err);
    if (err) return json();
    s["type"] = int_option(fd, SOL_SOCKET, SO_TYPE, err);
    s["listening"] = int_option(fd, SOL_SOCKET, SO_ACCEPTCONN, err) != 0;
    if (s["domain"] == AF_INET6) s["v6only"] = int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, err) != 0;
    if (s["domain"] == AF_INET || s["domain"] == AF_INET6) {
        s["reuseport"] = int_option(fd, SOL_SOCKET, SO_REUSEPORT, err) != 0;
        s["freebind"] = s["domain"] == AF_INET ? int_option(fd, IPPROTO_IP, IP_FREEBIND, err) != 0
                                               : int_option(fd, IPPROTO_IPV6, IPV6_FREEBIND, err) != 0;
        char device[IFNAMSIZ] = "";
        socklen_t device_len = sizeof device;
        if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, &device_len) == 0)
            s["device"] = std::string(device, strnlen(device, device_len));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0) s["local"] = address_text(ss);
    // SO_GET_FILTER: 0 with length 0 when no filter; an eBPF program cannot be
    // read back (EACCES on current kernels), which proves one is attached.
    socklen_t filter_len = 0;
    int rc = getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, nullptr, &filter_len);
    s["get_filter_errno"] = rc == 0 ? 0 : errno;
    s["get_filter_len"] = filter_len;
    s["lock_filter"] = int_option(fd, SOL_SOCKET, SO_LOCK_FILTER, err);
    return s;
}

json status_fields() {
    json j;
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        for (const char *wanted : {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"})
            if (key == wanted) j[key] = value;
    }
    return j;
}

json report() {
    json r;
    r["pid"] = getpid();
    for (const char *name : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "HOME", "USER", "LOGNAME"}) {
        const char *v = std::getenv(name);
        r["env"][name] = v ? json(v) : json(nullptr);
    }
    json environ_all = json::object();
    for (char **e = environ; *e; ++e) {
        std::string entry = *e;
        auto eq = entry.find('=');
        environ_all[entry.substr(0, eq)] = eq == std::string::npos ? "" : entry.substr(eq + 1);
    }
    r["environ"] = environ_all;
    json fds = json::object();
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int own = dirfd(dir);
        while (dirent *e = readdir(dir)) {
            if (e->d_name[0] == '.') continue;
            int fd = std::atoi(e->d_name);
            if (fd == own) continue;
            char target[512] = "";
            ssize_t n = readlink(("/proc/self/fd/" + std::string(e->d_name)).c_str(), target, sizeof target - 1);
            if (n > 0) target[n] = 0;
            json f;
            f["target"] = target;
            if (fd >= 3) {
                json s = socket_info(fd);
                if (!s.is_null()) f["socket"] = s;
            }
            fds[std::to_string(fd)] = f;
        }
        closedir(dir);
    }
    r["fds"] = fds;
    r["status"] = status_fields();
    // A locked filter cannot be detached: SO_DETACH_FILTER gives EPERM.
    if (fds.contains("3")) {
        int zero = 0;
        int rc = setsockopt(3, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof zero);
        r["detach_errno"] = rc == 0 ? 0 : errno;
    }
    return r;
}

void append_line(const std::string &path, const std::string &line) {
    if (path.empty()) return;
    std::ofstream out(path, std::ios::app);
    out << line << std::endl;
}

// A peer is recorded once the service hears from it: a queued connection
// that alfwrapper refused and destroyed is still accepted, but its first
// read fails (ECONNABORTED) and nothing of the peer ever reaches the service.
void serve_connection(int fd, std::string peers, std::string peer) {
    char buf[65536];
    bool heard = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        if (!heard) append_line(peers, "tcp " + peer);
        heard = true;
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, buf + off, static_cast<size_t>(n - off));
            if (w <= 0) break;
            off += w;
        }
    }
    close(fd);
}

[[noreturn]] void serve(int count, const std::string &peers) {
    std::vector<pollfd> fds;
    for (int i = 0; i < count; ++i) fds.push_back({3 + i, POLLIN, 0});
    for (;;) {
        if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) std::exit(2);
        for (auto &p : fds) {
            if (!(p.revents & POLLIN)) continue;
            int err;
            int type = int_option(p.fd, SOL_SOCKET, SO_TYPE, err);
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            if (type == SOCK_STREAM || type == SOCK_SEQPACKET) {
                int c = accept4(p.fd, reinterpret_cast<sockaddr *>(&ss), &len, SOCK_CLOEXEC);
                if (c >= 0) std::thread(serve_connection, c, peers, address_text(ss)).detach();
            } else {
                char buf[65536];
                ssize_t n = recvfrom(p.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&ss), &len);
                if (n >= 0) {
                    append_line(peers, "udp " + address_text(ss) + " " + std::string(buf, static_cast<size_t>(n)));
                    if (len > 0) sendto(p.fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr *>(&ss), len);
                }
            }
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    std::string report_path, peers_path;
    bool do_serve = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--report" && i + 1 < argc) report_path = argv[++i];
        else if (a == "--peers" && i + 1 < argc) peers_path = argv[++i];
        else if (a == "--serve") do_serve = true;
        else {
            std::fprintf(stderr, "probe: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    json r = report();
    std::string text = r.dump();
    if (report_path.empty()) {
        std::puts(text.c_str());
    } else {
        std::string tmp = report_path + ".tmp";
        { std::ofstream(tmp) << text << std::endl; }
        std::rename(tmp.c_str(), report_path.c_str());
    }
    if (do_serve) {
        const char *n = std::getenv("LISTEN_FDS");
        serve(n ? std::atoi(n) : 0, peers_path);
    }
    return 0;
}
