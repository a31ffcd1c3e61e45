// The benchmark harness: what does the filter cost a service? Each scenario
// runs the unfiltered and the filtered service alternately (A B A B ...) and
// reports medians and the median of the per-pair ratios (min-max), because
// these machines are noisy. It checks that it measured what it claims and
// fails loudly otherwise.
//
//   alfbench --alfwrapper PATH --echod PATH [--quick] [--only NAME] [--results FILE] [--command TEXT]
//   alfbench --splice NAME --title TITLE --command TEXT --results FILE [--load-at-start L] < OUTPUT
//     (another benchmark's Markdown output as section NAME of FILE, under the same head)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>

#include "common/net_address.hpp"
#include "cpu_model.hpp"
#include "workbench/test_run.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
    std::string alfwrapper, echod, only, results, command_line;
    bool quick = false;
    int pairs = 5;
};

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Stops the run; the services are stopped on the way out.
[[noreturn]] void fail(const std::string &what) { throw Failure(what); }

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    return v[i];
}

// A port free for TCP and UDP, below the ephemeral range (a client's port in
// TIME_WAIT would refuse the service's bind).
int free_port() {
    static std::mt19937 rng(static_cast<unsigned>(getpid()));
    for (int attempt = 0; attempt < 200; ++attempt) {
        int port = 10000 + static_cast<int>(rng() % 20000);
        bool ok = true;
        for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
            int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(static_cast<uint16_t>(port));
            ok = ok && bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
            close(fd);
        }
        if (ok) return port;
    }
    fail("no free port");
}

sockaddr_in v4(const char *ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

// A TCP connection from `source` (0 port) to 127.0.0.1:port; -1 on failure/timeout, errno saying which.
int tcp_connect(const char *source, int port, int timeout_ms = 2000) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src = v4(source, 0);
    // The port is picked at connect(), where the kernel may reuse a port in
    // TIME_WAIT; picked at bind() the connection-rate scenario runs out of ports.
    int one_more = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one_more, sizeof one_more);
    bind(fd, reinterpret_cast<sockaddr *>(&src), sizeof src);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in dst = v4("127.0.0.1", port);
    if (connect(fd, reinterpret_cast<sockaddr *>(&dst), sizeof dst) != 0) {
        int error = errno;  // for the caller: a timeout (EINPROGRESS) or a refusal
        close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

bool write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool read_exact(int fd, char *p, size_t n) {
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// One round trip of 64 bytes over a new connection; latency in microseconds or -1.
double connection_round_trip(const char *source, int port) {
    auto start = Clock::now();
    int fd = tcp_connect(source, port);
    if (fd < 0) return -1;
    char out[64], in[64];
    std::memset(out, 'x', sizeof out);
    bool ok = write_all(fd, out, sizeof out) && read_exact(fd, in, sizeof in) && std::memcmp(in, out, 64) == 0;
    // Close with a reset: a client's TIME_WAIT holds its port for a second,
    // which would cap the rate near 14k/s (the ephemeral ports per second),
    // whatever the filter does.
    linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);
    return ok ? seconds_since(start) * 1e6 : -1;
}

// A service (bench_echod) with a TCP and a UDP socket on `port`, started
// directly by socket activation (unfiltered) or behind alfwrapper (filtered).
class Service {
public:
    Service(const Settings &s, int port, const std::string &rules_file, const std::string &peers)
        : port_(port) {
        pid_ = fork();
        if (pid_ < 0) fail("fork");
        if (pid_ == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (rules_file.empty()) exec_unfiltered(s, peers);
            std::string p = std::to_string(port);
            execl(s.alfwrapper.c_str(), "alfwrapper", "-q", "--rules-file", rules_file.c_str(), "-l",
                  ("tcp:" + p).c_str(), "-l", ("udp:" + p).c_str(), "--", s.echod.c_str(), "--peers",
                  peers.c_str(), static_cast<char *>(nullptr));
            std::perror("exec alfwrapper");
            _exit(127);
        }
        try {
            wait_ready();
        } catch (...) {
            stop();
            throw;
        }
    }
    ~Service() { stop(); }
    void stop() {
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    int port() const { return port_; }

private:
    [[noreturn]] void exec_unfiltered(const Settings &s, const std::string &peers) {
        int fds[2] = {socket(AF_INET6, SOCK_STREAM, 0), socket(AF_INET6, SOCK_DGRAM, 0)};
        for (int fd : fds) {
            int zero = 0, one = 1;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(static_cast<uint16_t>(port_));
            if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) _exit(2);
        }
        listen(fds[0], 4096);
        dup2(fds[0], 3);
        dup2(fds[1], 4);
        setenv("LISTEN_FDS", "2", 1);
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
        setenv("LISTEN_FDNAMES", "tcp:udp", 1);
        execl(s.echod.c_str(), "bench_echod", "--peers", peers.c_str(), static_cast<char *>(nullptr));
        _exit(127);
    }
    void wait_ready() {
        auto start = Clock::now();
        while (seconds_since(start) < 60) {
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) fail("the service exited at start (see its stderr)");
            if (connection_round_trip("127.0.0.1", port_) >= 0) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        fail("the service did not answer within 60 s");
    }
    int port_;
    pid_t pid_;
};

// Scenario 1: bulk transfer through one connection, both directions at once.
double tcp_bulk(int port, size_t bytes) {
    int fd = tcp_connect("127.0.0.1", port);
    if (fd < 0) fail("tcp_bulk: cannot connect");
    timeval tv{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto start = Clock::now();
    std::thread writer([&] {
        std::vector<char> buf(1 << 18, 'b');
        for (size_t sent = 0; sent < bytes;) {
            size_t n = std::min(buf.size(), bytes - sent);
            if (!write_all(fd, buf.data(), n)) fail("tcp_bulk: write failed");
            sent += n;
        }
    });
    std::vector<char> buf(1 << 18);
    size_t received = 0;
    while (received < bytes) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n <= 0) break;
        received += static_cast<size_t>(n);
    }
    writer.join();
    double elapsed = seconds_since(start);
    close(fd);
    if (received != bytes) fail("tcp_bulk: echoed " + std::to_string(received) + " of " + std::to_string(bytes) + " bytes");
    return static_cast<double>(bytes) / elapsed / 1e6;
}

struct Rate {
    double per_second, p50_us, p99_us;
};

// Scenario 2: new connections (connect, 64 bytes each way, close) from several threads.
Rate tcp_connection_rate(int port, double duration, int threads) {
    std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
    std::atomic<int> failures{0};
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            while (seconds_since(start) < duration) {
                double us = connection_round_trip("127.0.0.1", port);
                if (us < 0) ++failures;
                else latencies[static_cast<size_t>(t)].push_back(us);
            }
        });
    for (auto &w : workers) w.join();
    double elapsed = seconds_since(start);
    std::vector<double> all;
    for (auto &l : latencies) all.insert(all.end(), l.begin(), l.end());
    if (failures > 0) fail("tcp_connection_rate: " + std::to_string(failures.load()) + " connections of an admitted client failed");
    return {static_cast<double>(all.size()) / elapsed, percentile(all, 0.5), percentile(all, 0.99)};
}

// Scenario 3: 64-byte datagrams, request/response.
double udp_round_trips(int port, double duration) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in src = v4("127.0.0.1", 0), dst = v4("127.0.0.1", port);
    bind(fd, reinterpret_cast<sockaddr *>(&src), sizeof src);
    connect(fd, reinterpret_cast<sockaddr *>(&dst), sizeof dst);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char out[64], in[128];
    std::memset(out, 'u', sizeof out);
    long count = 0, lost = 0;
    auto start = Clock::now();
    while (seconds_since(start) < duration) {
        send(fd, out, sizeof out, 0);
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n == 64 && std::memcmp(in, out, 64) == 0) ++count;
        else ++lost;
    }
    double elapsed = seconds_since(start);
    close(fd);
    if (lost > count / 1000 + 1) fail("udp: " + std::to_string(lost) + " of " + std::to_string(count + lost) + " datagrams unanswered");
    return static_cast<double>(count) / elapsed;
}

// The rules of a size: the admitted client 127.0.0.1 three levels deep (allow
// 127/8, deny 127.0.0.0/24, allow 127.0.0.1/32), the refused probe 127.0.0.3,
// and the rest random IPv4 and IPv6 prefixes outside 127/8.
std::string write_rules(size_t count, const std::string &dir) {
    std::string path = dir + "/rules-" + std::to_string(count) + ".txt";
    std::ofstream out(path);
    out << "allow 127.0.0.0/8\ndeny 127.0.0.0/24\nallow 127.0.0.1/32\n";
    std::mt19937_64 rng(count);
    for (size_t i = 3; i < count; ++i) {
        bool allow = rng() % 2;
        if (i % 2) {
            uint32_t a = static_cast<uint32_t>(rng());
            if ((a >> 24) == 127) a ^= 0x80000000u;
            unsigned len = 8 + static_cast<unsigned>(rng() % 25);
            a &= len == 32 ? ~0u : ~(~0u >> len);
            out << (allow ? "allow " : "deny ") << (a >> 24) << '.' << ((a >> 16) & 255) << '.' << ((a >> 8) & 255)
                << '.' << (a & 255) << '/' << len << '\n';
        } else {
            uint64_t hi = rng() | (uint64_t(0x2001) << 48);
            unsigned len = 16 + static_cast<unsigned>(rng() % 49);
            hi &= ~(~uint64_t(0) >> len);
            char buf[64];
            std::snprintf(buf, sizeof buf, "%x:%x:%x:%x::/%u", unsigned(hi >> 48), unsigned((hi >> 32) & 0xffff),
                          unsigned((hi >> 16) & 0xffff), unsigned(hi & 0xffff), len);
            out << (allow ? "allow " : "deny ") << buf << '\n';
        }
    }
    if (!out) fail("cannot write " + path);
    return path;
}

struct Row {
    std::string scenario, size, unit;
    std::vector<double> a, b;  // unfiltered, filtered
    std::string note;
};

std::string format(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    return buf;
}

std::string row_markdown(const Row &r) {
    std::vector<double> ratios;
    for (size_t i = 0; i < std::min(r.a.size(), r.b.size()); ++i) ratios.push_back(r.b[i] / r.a[i]);
    std::ostringstream s;
    s << "| " << r.scenario << " | " << r.size << " | " << format(median(r.a)) << " " << r.unit << " | "
      << format(median(r.b)) << " " << r.unit << " | " << std::fixed;
    s.precision(3);
    s << median(ratios) << " (" << *std::min_element(ratios.begin(), ratios.end()) << "-"
      << *std::max_element(ratios.begin(), ratios.end()) << ") | " << r.note << " |";
    return s.str();
}

bool is_admitted(const std::string &peer) { return peer == "127.0.0.1" || peer == "::ffff:127.0.0.1"; }

// The peers the service accepted (bench_echod --peers: one address a line).
// A missing or empty file fails: "no refused source accepted" over no
// accepted connection at all would prove nothing.
std::vector<std::string> accepted_peers(const std::string &peers) {
    std::ifstream in(peers);
    if (!in) fail("no peers file " + peers + ": the service recorded no connection");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    if (lines.empty()) fail("the peers file " + peers + " is empty: the service recorded no connection");
    return lines;
}

// Fails unless the service accepted at least `at_least` connections, all of
// them from the admitted client.
void check_only_admitted(const std::string &peers, size_t at_least) {
    auto lines = accepted_peers(peers);
    for (const auto &line : lines)
        if (!is_admitted(line)) fail("a refused source reached the accept queue: " + line);
    if (lines.size() < at_least)
        fail("the service recorded " + std::to_string(lines.size()) + " accepted connections, the admitted client made " +
             std::to_string(at_least));
}

// Checks the filter really is in front: a connection from a refused source
// must time out (the filter drops its SYN; a reset or "connection refused"
// would mean something else answered), and only the admitted client may be
// among the service's accepted peers (it was served at least once, when the
// service was found ready).
void check_filtered(int port, const std::string &peers) {
    int fd = tcp_connect("127.0.0.3", port, 500);
    int error = errno;
    if (fd >= 0) {
        close(fd);
        fail("a refused source (127.0.0.3) was served: no filter in front?");
    }
    if (error != EINPROGRESS && error != ETIMEDOUT && error != EAGAIN)
        fail(std::string("a refused source's connection failed without timing out (") + std::strerror(error) +
             "): the filter's drop was not what stopped it");
    check_only_admitted(peers, 1);
}

void run_size(const Settings &s, size_t rules, const std::string &dir, std::vector<Row> &rows) {
    std::string rules_file = write_rules(rules, dir);
    std::string peers_a = dir + "/peers-a", peers_b = dir + "/peers-b";
    std::remove(peers_a.c_str());
    std::remove(peers_b.c_str());
    Service unfiltered(s, free_port(), "", peers_a);
    Service filtered(s, free_port(), rules_file, peers_b);
    check_filtered(filtered.port(), peers_b);

    const size_t bulk_bytes = s.quick ? (64u << 20) : (1u << 30);
    const double span = s.quick ? 0.5 : 3.0;
    std::string size = std::to_string(rules);
    Row bulk{"TCP bulk (1 connection, each way)", size, "MB/s", {}, {}, s.quick ? "64 MiB a run" : "1 GiB a run"};
    Row conn{"TCP connections (connect, 64 B echo, close; 2 threads)", size, "conn/s", {}, {}, ""};
    Row p99{"TCP connection p99 latency", size, "us", {}, {}, "lower is better"};
    Row udp{"UDP 64 B request/response", size, "dgram/s", {}, {}, ""};
    auto wanted = [&](const std::string &name) { return s.only.empty() || s.only == name; };
    for (int pair = 0; pair < s.pairs; ++pair) {
        for (Service *service : {&unfiltered, &filtered}) {
            bool b = service == &filtered;
            if (wanted("tcp_bulk")) (b ? bulk.b : bulk.a).push_back(tcp_bulk(service->port(), bulk_bytes));
            if (wanted("tcp_connections")) {
                Rate r = tcp_connection_rate(service->port(), span, 2);
                (b ? conn.b : conn.a).push_back(r.per_second);
                (b ? p99.b : p99.a).push_back(r.p99_us);
            }
            if (wanted("udp")) (b ? udp.b : udp.a).push_back(udp_round_trips(service->port(), span));
        }
    }
    check_filtered(filtered.port(), peers_b);
    for (Row *r : {&bulk, &conn, &p99, &udp})
        if (!r->a.empty()) rows.push_back(*r);
}

// Scenario 8: an admitted client's connection latency while refused sources
// open connections as fast as they can, against the same client in quiet.
void run_refused_traffic(const Settings &s, const std::string &dir, std::vector<Row> &rows) {
    std::string rules_file = write_rules(20, dir);
    std::string peers = dir + "/peers-flood";
    std::remove(peers.c_str());
    Service filtered(s, free_port(), rules_file, peers);
    const double span = s.quick ? 0.5 : 3.0;
    Row p50{"Admitted client p50 latency, quiet vs under refused SYN flood", "20", "us", {}, {}, "A: quiet, B: flood"};
    Row p99{"Admitted client p99 latency, quiet vs under refused SYN flood", "20", "us", {}, {}, "A: quiet, B: flood"};
    std::atomic<long> flood_attempts{0};
    size_t admitted_round_trips = 1;  // the first, when the service was found ready
    for (int pair = 0; pair < s.pairs; ++pair) {
        for (bool flood : {false, true}) {
            std::atomic<bool> stop{false};
            std::vector<std::thread> flooders;
            if (flood)
                for (int t = 0; t < 2; ++t)
                    flooders.emplace_back([&, t] {
                        std::string src = "127.0.0." + std::to_string(3 + t);
                        sockaddr_in from = v4(src.c_str(), 0), to = v4("127.0.0.1", filtered.port());
                        while (!stop) {
                            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                            int one = 1;
                            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
                            // Only from the refused source: without the bind the SYN would come from 127.0.0.1.
                            if (bind(fd, reinterpret_cast<sockaddr *>(&from), sizeof from) == 0 &&
                                (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) == 0 || errno == EINPROGRESS))
                                ++flood_attempts;  // one SYN, never answered
                            close(fd);
                        }
                    });
            std::vector<double> latencies;
            auto start = Clock::now();
            while (seconds_since(start) < span) {
                double us = connection_round_trip("127.0.0.1", filtered.port());
                if (us < 0) fail("the admitted client failed under the flood");
                latencies.push_back(us);
            }
            admitted_round_trips += latencies.size();
            stop = true;
            for (auto &f : flooders) f.join();
            (flood ? p50.b : p50.a).push_back(percentile(latencies, 0.5));
            (flood ? p99.b : p99.a).push_back(percentile(latencies, 0.99));
        }
    }
    if (flood_attempts == 0) fail("the flood sent no SYN: nothing was refused, the check would prove nothing");
    check_only_admitted(peers, admitted_round_trips);
    p99.note += ", " + std::to_string(flood_attempts.load()) + " refused SYNs, none accepted";
    rows.push_back(p50);
    rows.push_back(p99);
}

// Scenario 4: the cost of each library filter alone, from the kernel's own
// clock (BPF_PROG_TEST_RUN, average over `repeat` runs), on a TCP SYN from
// 127.0.0.1 and from ::1, next to an empty filter (the floor). Maps are as
// the filter declares them (empty); the verdict shows which path ran.
int empty_filter() {
    const bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -1}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "empty", "GPL", insns, 2, nullptr);
    if (fd < 0) fail(std::string("loading the empty filter: ") + std::strerror(errno));
    return fd;
}

void run_filter_costs(const Settings &s, std::vector<std::string> &lines) {
    const int repeat = s.quick ? 200000 : 1000000;
    std::string dir = s.alfwrapper.substr(0, s.alfwrapper.rfind('/') + 1) + "filters";
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 2 && n.ends_with(".o")) names.push_back(n.substr(0, n.size() - 2));
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) fail("no built-in filter objects in " + dir);
    libbpf_set_print([](enum libbpf_print_level, const char *, va_list) { return 0; });
    struct Loaded {
        std::string name;
        bpf_object *object;
        int fd;
    };
    std::vector<Loaded> loaded = {{"(empty filter: the floor)", nullptr, empty_filter()}};
    for (const auto &name : names) {
        bpf_object *object = bpf_object__open_file((dir + "/" + name + ".o").c_str(), nullptr);
        if (!object || bpf_object__load(object) != 0) fail("cannot load built-in filter " + name);
        bpf_program *prog = bpf_object__find_program_by_name(object, "filter");
        if (!prog) fail("built-in filter " + name + " has no program 'filter'");
        loaded.push_back({name, object, bpf_program__fd(prog)});
    }
    std::map<std::string, std::vector<double>> v4, v6;
    std::map<std::string, std::uint32_t> verdict4, verdict6;
    const alf::IpAddress v4_loopback = *alf::parse_ip("127.0.0.1"), v6_loopback = *alf::parse_ip("::1");
    auto frame4 = alf::synthetic_tcp_syn(v4_loopback, v4_loopback, 40000, 4242);
    auto frame6 = alf::synthetic_tcp_syn(v6_loopback, v6_loopback, 40000, 4242);
    for (int round = 0; round < s.pairs; ++round)
        for (const auto &l : loaded) {
            alf::TestRunResult a = alf::test_run_filter(l.fd, frame4, repeat);
            alf::TestRunResult b = alf::test_run_filter(l.fd, frame6, repeat);
            v4[l.name].push_back(a.ns_per_run);
            v6[l.name].push_back(b.ns_per_run);
            verdict4[l.name] = a.verdict;
            verdict6[l.name] = b.verdict;
        }
    auto verdict = [](std::uint32_t v) { return v == 0 ? "drop" : "pass"; };
    lines.push_back("| filter | IPv4 SYN ns/packet | IPv6 SYN ns/packet | verdicts (v4, v6) |");
    lines.push_back("|---|---|---|---|");
    for (const auto &l : loaded)
        lines.push_back("| " + l.name + " | " + format(median(v4[l.name])) + " | " + format(median(v6[l.name])) + " | " +
                        verdict(verdict4[l.name]) + ", " + verdict(verdict6[l.name]) + " |");
    for (auto &l : loaded) {
        if (l.object) bpf_object__close(l.object);
        else close(l.fd);
    }
}

std::string machine_description() {
    std::ifstream mem("/proc/meminfo");
    std::string memline;
    std::getline(mem, memline);
    utsname u{};
    uname(&u);
    std::ostringstream s;
    s << alf::bench::cpu_description() << "; " << memline.substr(memline.find_first_of("0123456789")) << " RAM; Linux "
      << u.release;
    return s.str();
}

// The 1-minute load average now (/proc/loadavg), as text.
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string first;
    if (!(in >> first)) fail("cannot read /proc/loadavg");
    return first;
}

// The head of every section the benchmarks write: its title, the machine,
// the date, the command, and how busy the machine was (other work shares
// it, so figures are compared within one table only).
std::string section_head(const std::string &title, const std::string &command, const std::string &load_at_start) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    return "## " + title + "\n\nMachine: " + machine_description() + "  \nDate: " + date + "  \nCommand: `" + command +
           "`  \nLoad: 1-minute load average " + load_at_start + " at the start, " + load_average() +
           " at the end (other work shares the machine: compare figures within one table only)\n\n";
}

void update_results(const std::string &path, const std::string &section, const std::string &name = "alfbench") {
    std::string text;
    {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    const std::string begin = "<!-- " + name + ":begin -->", end = "<!-- " + name + ":end -->";
    auto b = text.find(begin), e = text.find(end);
    std::string replacement = begin + "\n" + section + end;
    if (b != std::string::npos && e != std::string::npos && e > b)
        text.replace(b, e + end.size() - b, replacement);
    else
        text += (text.empty() ? "# Benchmark results\n\n" : "\n") + replacement + "\n";
    std::ofstream out(path + ".tmp");
    out << text;
    out.close();
    std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace

int run(int argc, char **argv) {
    Settings s;
    std::string splice;  // --splice NAME: put stdin into section NAME of --results
    std::string title, load_at_start = load_average();
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value");
            return argv[++i];
        };
        if (a == "--alfwrapper") s.alfwrapper = value();
        else if (a == "--echod") s.echod = value();
        else if (a == "--quick") s.quick = true;
        else if (a == "--only") s.only = value();
        else if (a == "--results") s.results = value();
        else if (a == "--command") s.command_line = value();
        else if (a == "--pairs") s.pairs = std::stoi(value());
        else if (a == "--splice") splice = value();
        else if (a == "--title") title = value();
        else if (a == "--load-at-start") load_at_start = value();
        else fail("unknown argument " + a + " (see bench/run)");
    }
    if (!splice.empty()) {
        if (s.results.empty() || title.empty() || s.command_line.empty())
            fail("--splice needs --results, --title and --command");
        std::stringstream in;
        in << std::cin.rdbuf();
        if (in.str().find("\n|---") == std::string::npos) fail("--splice " + splice + ": the output has no table");
        update_results(s.results, section_head(title, s.command_line, load_at_start) + in.str(), splice);
        return 0;
    }
    if (s.alfwrapper.empty() || s.echod.empty()) fail("--alfwrapper and --echod are required");
    // Run by hand (not by bench/run): the section names this very command.
    if (s.command_line.empty())
        for (int i = 0; i < argc; ++i) s.command_line += (i ? " " : "") + std::string(argv[i]);
    if (s.pairs < 1) fail("--pairs must be at least 1");
    signal(SIGPIPE, SIG_IGN);

    char dir_template[] = "/tmp/alfbench-XXXXXX";
    std::string dir = mkdtemp(dir_template);
    std::vector<Row> rows;
    std::vector<size_t> sizes = {20, 10000, 1000000};
    std::set<std::string> traffic = {"", "tcp_bulk", "tcp_connections", "udp"};
    if (traffic.count(s.only))
        for (size_t size : sizes) run_size(s, size, dir, rows);
    if (s.only.empty() || s.only == "refused") run_refused_traffic(s, dir, rows);
    std::vector<std::string> cost_lines;
    if (s.only.empty() || s.only == "filters") run_filter_costs(s, cost_lines);

    std::ostringstream table;
    table << section_head("Traffic through the filter, and each filter's cost (bench/run)", s.command_line, load_at_start);
    if (!rows.empty())
        table << s.pairs << " pairs a row, unfiltered (A) and filtered (B) alternately; ratio = B/A, median (min-max).\n\n"
              << "| scenario | rules | unfiltered (A) | filtered (B) | B/A | note |\n|---|---|---|---|---|---|\n";
    for (const auto &r : rows) table << row_markdown(r) << "\n";
    if (!cost_lines.empty()) {
        table << "\n### Each library filter alone (BPF_PROG_TEST_RUN)\n\n"
              << "Kernel-measured average over " << (s.quick ? "200,000" : "1,000,000")
              << " runs, median of " << s.pairs << " rounds; maps as declared (empty), so `whitelist` "
              << "and `interfaces` take their drop path and `ratelimit` spends its bucket in the first runs; the rules filter at every size is in the rules section.\n\n";
        for (const auto &l : cost_lines) table << l << "\n";
    }
    std::cout << table.str();
    // The section holds every table: a run of one (--only) would replace the
    // others with nothing, so it is printed and not written.
    if (!s.results.empty() && s.only.empty()) update_results(s.results, table.str());
    else if (!s.results.empty())
        std::cerr << "alfbench: --only " << s.only << ": printed, not written into " << s.results
                  << " (its section holds every table; bench/run without --only writes it)\n";
    std::string cleanup = "rm -rf " + dir;
    return std::system(cleanup.c_str()) == 0 ? 0 : 0;
}

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::cerr << "alfbench: FAILED: " << e.what() << "\n";
        return 1;
    }
}
