// What a flood of refused SYNs costs an admitted client: its latency
// (connect, 64 B echo, close) in quiet, with the flooder's CPU kept busy but
// no packets sent (the control), and under a raw-socket SYN flood from
// forged, refused sources; for the service unfiltered (the flood reaches
// TCP: syncookies) and behind alfwrapper admitting only the client (the
// filter drops every flood SYN). Three network namespaces of its own, joined
// by veth pairs: the flooder on one CPU, the service and the client on the
// other. Prints a Markdown section; needs root.
//
//   flood_bench --alfwrapper PATH --echod PATH [--quick] [--repetitions N]
//               [--quiet-seconds S] [--flood-seconds S] [--command TEXT] [--results FILE]
// With --results, the section also replaces the one marked "flood" in FILE.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../cpu_model.hpp"
#include "namespaces.hpp"
#include "syn_flood.hpp"

namespace flood {
namespace {

using Clock = std::chrono::steady_clock;

// Documentation addresses only, inside the benchmark's own namespaces.
const char *const server_to_flooder = "192.0.2.1", *const flooder_address = "192.0.2.2";
const char *const server_to_client = "198.51.100.1", *const client_address = "198.51.100.2";
const char *const flood_sources = "192.0.2.128";  // /25, routed to the flooder's link
constexpr int flood_sources_length = 25;
constexpr int backlog = 4096;
constexpr int server_cpu = 0, flooder_cpu = 1;

std::uint32_t host_order(const char *address) {
    in_addr a{};
    if (inet_pton(AF_INET, address, &a) != 1) throw std::runtime_error(std::string("bad address ") + address);
    return ntohl(a.s_addr);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Settings {
    std::string alfwrapper, echod, command = "flood_bench", results;
    int repetitions = 5;
    double quiet_seconds = 3, flood_seconds = 5;
};

// The three namespaces and their links.
struct Network {
    NetworkNamespace server, flooder, client;
    Network() {
        connect_veth({server, "s-flood", std::string(server_to_flooder) + "/25"},
                     {flooder, "f-server", std::string(flooder_address) + "/25"});
        connect_veth({server, "s-client", std::string(server_to_client) + "/24"},
                     {client, "c-server", std::string(client_address) + "/24"});
        // The server answers forged sources through the flooder's link, whose
        // namespace owns none of them and forwards nothing: the answers stop
        // there, and the server needs one neighbour entry, not one a source.
        server.run({"ip", "route", "add", std::string(flood_sources) + "/" + std::to_string(flood_sources_length), "via",
                    flooder_address});
        server.run({"sysctl", "-q", "-w", "net.ipv4.tcp_syncookies=1"});
        flooder.run({"sysctl", "-q", "-w", "net.ipv4.ip_forward=0"});
    }
};

// Runs `body` on a thread of its own inside `ns`, pinned to `cpu`; rethrows
// what it threw.
void on_thread_in(const NetworkNamespace &ns, int cpu, const std::function<void()> &body) {
    std::exception_ptr failure;
    std::thread thread([&] {
        try {
            ns.enter_this_thread();
            pin_to_cpu(cpu);
            body();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    thread.join();
    if (failure) std::rethrow_exception(failure);
}

// One admitted connection: connect, 64 bytes each way, close with a reset
// (no TIME_WAIT to run out of ports). Microseconds, or -1 when it failed or
// took longer than `timeout_ms` at any step.
double round_trip(int port, int timeout_ms) {
    auto start = Clock::now();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(host_order(server_to_client));
    char out[64], in[64];
    std::memset(out, 'f', sizeof out);
    bool ok = connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) == 0 &&
              send(fd, out, sizeof out, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof out) &&
              recv(fd, in, sizeof in, MSG_WAITALL) == static_cast<ssize_t>(sizeof in) && std::memcmp(in, out, 64) == 0;
    linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);
    return ok ? seconds_since(start) * 1e6 : -1;
}

struct Latencies {
    std::vector<double> us;
    long failures = 0;
    double percentile(double p) const {
        if (us.empty()) return 0;
        std::vector<double> sorted = us;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
    }
};

// Softirq time spent on `cpu` so far (/proc/stat, which accounts it apart
// from the tasks it interrupted): on a veth the receive side of every packet
// runs there, on the sender's CPU.
double softirq_seconds(int cpu) {
    std::ifstream in("/proc/stat");
    const std::string name = "cpu" + std::to_string(cpu);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string word;
        fields >> word;
        if (word != name) continue;
        long long user, nice, system, idle, iowait, irq, softirq;
        fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
        return static_cast<double>(softirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    throw std::runtime_error("no " + name + " in /proc/stat");
}

// The admitted client, one connection after the other for `seconds`. A
// retransmitted SYN (1 s) still counts, as a slow connection; only a
// connection that gets nowhere in 3 s is a failure.
Latencies measure_client(const Network &net, int port, double seconds) {
    Latencies result;
    on_thread_in(net.client, server_cpu, [&] {
        auto start = Clock::now();
        while (seconds_since(start) < seconds) {
            double us = round_trip(port, 3000);
            if (us < 0) ++result.failures;
            else result.us.push_back(us);
        }
    });
    return result;
}

// bench_echod on the server's CPU, in the server's namespace: directly by
// socket activation (unfiltered), or behind alfwrapper admitting only the
// client's address (filtered). The same IPv4 socket and backlog either way.
class Service {
public:
    Service(const Settings &s, const Network &net, int port, bool filtered, const std::string &peers) : port_(port) {
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (setns(net.server.fd(), CLONE_NEWNET) != 0) _exit(126);
            pin_to_cpu(server_cpu);
            if (filtered) exec_filtered(s, peers);
            exec_unfiltered(s, peers);
        }
        try {
            wait_ready(net);
        } catch (...) {
            stop();
            throw;
        }
    }
    ~Service() { stop(); }
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;

private:
    [[noreturn]] void exec_filtered(const Settings &s, const std::string &peers) {
        std::string listen = "tcp:0.0.0.0:" + std::to_string(port_) + ",backlog=" + std::to_string(backlog);
        std::string allow = std::string(client_address) + "/32";
        execl(s.alfwrapper.c_str(), "alfwrapper", "-q", "--allow", allow.c_str(), "-l", listen.c_str(), "--",
              s.echod.c_str(), "--peers", peers.c_str(), static_cast<char *>(nullptr));
        std::perror("exec alfwrapper");
        _exit(127);
    }
    [[noreturn]] void exec_unfiltered(const Settings &s, const std::string &peers) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in any{};
        any.sin_family = AF_INET;
        any.sin_port = htons(static_cast<std::uint16_t>(port_));
        if (bind(fd, reinterpret_cast<sockaddr *>(&any), sizeof any) != 0 || listen(fd, backlog) != 0) _exit(2);
        if (fd != 3) dup2(fd, 3);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
        execl(s.echod.c_str(), "bench_echod", "--peers", peers.c_str(), static_cast<char *>(nullptr));
        std::perror("exec bench_echod");
        _exit(127);
    }
    void wait_ready(const Network &net) {
        auto start = Clock::now();
        bool served = false;
        while (!served && seconds_since(start) < 30) {
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) throw std::runtime_error("the service exited at start");
            on_thread_in(net.client, server_cpu, [&] { served = round_trip(port_, 500) >= 0; });
            if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!served) throw std::runtime_error("the service did not serve the admitted client within 30 s");
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    int port_;
    pid_t pid_ = -1;
};

// Keeps a CPU busy with a thread that only spins, sending nothing: the
// control for the flood. On a machine shared with other work, one always
// busy thread on the flooder's CPU changes where the scheduler runs that
// work, and with it the admitted client's latency, flood or no flood.
class Spinner {
public:
    explicit Spinner(int cpu)
        : thread_([this, cpu] {
              pin_to_cpu(cpu);
              while (!stopping_.load(std::memory_order_relaxed)) {
              }
          }) {}
    ~Spinner() {
        stopping_ = true;
        thread_.join();
    }
    Spinner(const Spinner &) = delete;
    Spinner &operator=(const Spinner &) = delete;

private:
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// One service started, the admitted client measured in quiet, with the
// flooder's CPU busy but no packets sent, then under the flood.
struct Run {
    bool filtered = false;
    Latencies quiet, busy, flooded;
    double flood_seconds = 0, flooder_cpu_seconds = 0;
    std::int64_t syns_sent = 0, syns_at_server = 0, syncookies = 0, syn_queue = 0, answers_to_flood = 0;
    std::int64_t refused_accepted = 0, accepted = 0;
};

// The peers the service accepted, and how many were not the admitted client.
void count_accepted(const std::string &peers, Run &run) {
    std::ifstream in(peers);
    for (std::string line; std::getline(in, line);) {
        ++run.accepted;
        if (line != client_address) ++run.refused_accepted;
    }
}

Run measure_run(const Settings &s, const Network &net, int port, bool filtered, const std::string &dir) {
    Run run;
    run.filtered = filtered;
    std::string peers = dir + "/peers-" + std::to_string(port);
    Service service(s, net, port, filtered, peers);
    measure_client(net, port, 0.3);  // warm-up: the service's first connections, not measured
    run.quiet = measure_client(net, port, s.quiet_seconds);
    {
        Spinner spinner(flooder_cpu);
        run.busy = measure_client(net, port, s.quiet_seconds);
    }

    auto counters_before = read_counters(net.server.proc_net("netstat"));
    std::int64_t at_server = received_packets(net.server, "s-flood"), answers = received_packets(net.flooder, "f-server");
    double softirq = softirq_seconds(flooder_cpu);
    auto start = Clock::now();
    SynFlood flood(net.flooder, flooder_cpu,
                   {host_order(server_to_flooder), port, host_order(flood_sources), flood_sources_length});
    run.flooded = measure_client(net, port, s.flood_seconds);
    run.syns_sent = flood.stop();
    run.flood_seconds = seconds_since(start);
    run.flooder_cpu_seconds = flood.thread_cpu_seconds() + softirq_seconds(flooder_cpu) - softirq;
    auto counters_after = read_counters(net.server.proc_net("netstat"));
    run.syncookies = counters_after["TcpExt.SyncookiesSent"] - counters_before["TcpExt.SyncookiesSent"];
    run.syns_at_server = received_packets(net.server, "s-flood") - at_server;
    run.answers_to_flood = received_packets(net.flooder, "f-server") - answers;
    run.syn_queue = syn_queue_entries(net.server, port, host_order(flood_sources), flood_sources_length);
    count_accepted(peers, run);

    // What the figures stand for, or the run measured something else.
    if (run.syns_sent == 0 || run.syns_at_server == 0) throw std::runtime_error("the flood reached nothing");
    if (run.refused_accepted > 0) throw std::runtime_error("the service accepted a connection from a refused source");
    if (filtered && (run.syncookies != 0 || run.syn_queue != 0))
        throw std::runtime_error("behind the filter, flood SYNs reached TCP (" + std::to_string(run.syncookies) +
                                 " syncookies, " + std::to_string(run.syn_queue) + " in the SYN queue)");
    if (!filtered && run.syncookies == 0) throw std::runtime_error("unfiltered, the flood sent no syncookie: did it reach TCP?");
    return run;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string first;
    in >> first;
    return first;
}

std::string machine() {
    utsname u{};
    uname(&u);
    return alf::bench::cpu_description() + "; Linux " + u.release;
}

std::string fixed(double v, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string us(double v) { return fixed(v, v >= 100 ? 0 : 1); }

// "median (min-max)" over the runs of one kind.
std::string spread(const std::vector<Run> &runs, bool filtered, const std::function<double(const Run &)> &figure,
                   const std::function<std::string(double)> &show) {
    std::vector<double> v;
    for (const auto &r : runs)
        if (r.filtered == filtered) v.push_back(figure(r));
    std::sort(v.begin(), v.end());
    double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    return show(median) + " (" + show(v.front()) + "-" + show(v.back()) + ")";
}

struct Phase {
    const char *name;
    const Latencies Run::*latencies;
    double Settings::*seconds;
};
const Phase phases[] = {{"quiet", &Run::quiet, &Settings::quiet_seconds},
                        {"flooder's CPU busy, no packets", &Run::busy, &Settings::quiet_seconds},
                        {"flood", &Run::flooded, &Settings::flood_seconds}};

std::string report(const Settings &s, const std::vector<Run> &runs, const std::string &date, const std::string &load_before,
                   double took) {
    auto count = [](double v) { return fixed(v, 0); };
    auto ratio = [](double v) { return fixed(v, 2); };
    std::ostringstream out;
    out << "## Refused SYN flood: the admitted client's latency (bench/flood)\n\n"
        << "Machine: " << machine() << "  \nDate: " << date << "  \nCommand: `" << s.command << "`  \n"
        << "Load: 1-minute load average " << load_before << " at the start, " << load_average()
        << " at the end (other work shares the machine and its two CPUs: the pinned CPUs are not ours alone)  \n"
        << "Took: " << fixed(took, 0) << " s; " << s.repetitions << " repetitions, each: the service started "
        << "(unfiltered and filtered alternately), the admitted client measured " << fixed(s.quiet_seconds, 0)
        << " s in quiet, " << fixed(s.quiet_seconds, 0) << " s with the flooder's CPU busy but no packets, "
        << fixed(s.flood_seconds, 0) << " s under the flood\n\n"
        << "Flooder: one thread, raw socket, SYNs from random forged sources in " << flood_sources << "/"
        << flood_sources_length << ", own namespace, pinned to CPU " << flooder_cpu << ". Service (bench_echod, "
        << "backlog " << backlog << ", syncookies on) and admitted client (" << client_address
        << ", own namespace; connect, 64 B echo, close) pinned to CPU " << server_cpu
        << ". Filtered: `alfwrapper --allow " << client_address
        << "/32`; unfiltered: the same socket without a filter. Median (min-max) over the repetitions.\n\n"
        << "### The admitted client\n\n"
        << "| service | phase | p50 us | p99 us | p50 / busy | p99 / busy | connections/s | failures |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    for (bool filtered : {false, true})
        for (const Phase &phase : phases) {
            auto field = [&](const std::function<double(const Latencies &, const Run &)> &f,
                             const std::function<std::string(double)> &show) {
                return spread(runs, filtered, [&](const Run &r) { return f(r.*phase.latencies, r); }, show);
            };
            double seconds = s.*phase.seconds;
            out << "| " << (filtered ? "filtered" : "unfiltered") << " | " << phase.name << " | "
                << field([](const Latencies &l, const Run &) { return l.percentile(0.5); }, us) << " | "
                << field([](const Latencies &l, const Run &) { return l.percentile(0.99); }, us) << " | "
                << field([](const Latencies &l, const Run &r) { return l.percentile(0.5) / r.busy.percentile(0.5); }, ratio)
                << " | "
                << field([](const Latencies &l, const Run &r) { return l.percentile(0.99) / r.busy.percentile(0.99); }, ratio)
                << " | " << field([&](const Latencies &l, const Run &) { return double(l.us.size()) / seconds; }, count)
                << " | " << field([](const Latencies &l, const Run &) { return double(l.failures); }, count) << " |\n";
        }
    out << "\n### The flood\n\n"
        << "| service | SYNs sent | SYNs/s | flooder's CPU share | SYNs a flooder CPU second | syncookies sent | "
           "flood SYNs in the SYN queue | answers to the flood |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    for (bool filtered : {false, true}) {
        auto field = [&](const std::function<double(const Run &)> &f, const std::function<std::string(double)> &show) {
            return spread(runs, filtered, f, show);
        };
        out << "| " << (filtered ? "filtered" : "unfiltered") << " | "
            << field([](const Run &r) { return double(r.syns_sent); }, count) << " | "
            << field([](const Run &r) { return double(r.syns_sent) / r.flood_seconds; }, count) << " | "
            << field([](const Run &r) { return r.flooder_cpu_seconds / r.flood_seconds; }, ratio) << " | "
            << field([](const Run &r) { return double(r.syns_sent) / r.flooder_cpu_seconds; }, count) << " | "
            << field([](const Run &r) { return double(r.syncookies); }, count) << " | "
            << field([](const Run &r) { return double(r.syn_queue); }, count) << " | "
            << field([](const Run &r) { return double(r.answers_to_flood); }, count) << " |\n";
    }
    out << "\nSYNs sent: taken by the kernel from the flooder's socket (all reached the server's link: see each run); "
        << "flooder's CPU: its thread's CPU time plus the softirq time of its CPU (on a veth the server's receive work "
        << "runs there, on the sender's CPU), over the flood's wall time; syncookies sent: TcpExt SyncookiesSent in the "
        << "server's namespace (once the SYN queue is full, the admitted client's connections get syncookies too); SYN "
        << "queue: request sockets from the flood's sources waiting when the flood stopped; answers: packets back on the "
        << "flooder's link (SYN-ACKs, with the retransmissions for the queued ones). No connection from a flood source "
        << "was ever accepted (checked on every run).\n\n"
        << "### Each run\n\n"
        << "| run | service | quiet p50 / p99 us | busy p50 / p99 us | flood p50 / p99 us | SYNs sent | flooder's CPU s / wall s | "
           "SYNs at the server's link | syncookies sent | flood SYNs in the SYN queue | answers to the flood |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    auto both = [](const Latencies &l) { return us(l.percentile(0.5)) + " / " + us(l.percentile(0.99)); };
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const Run &r = runs[i];
        out << "| " << i + 1 << " | " << (r.filtered ? "filtered" : "unfiltered") << " | " << both(r.quiet) << " | "
            << both(r.busy) << " | " << both(r.flooded) << " | " << r.syns_sent << " | " << fixed(r.flooder_cpu_seconds, 2)
            << " / " << fixed(r.flood_seconds, 2) << " | " << r.syns_at_server << " | " << r.syncookies << " | "
            << r.syn_queue << " | " << r.answers_to_flood << " |\n";
    }
    return out.str();
}

// Puts `text` between the file's "<!-- flood:begin -->" and "<!-- flood:end
// -->" lines (at its end the first time), leaving the rest as it was.
void write_section(const std::string &path, const std::string &text) {
    std::string old;
    {
        std::ifstream in(path);
        std::ostringstream all;
        all << in.rdbuf();
        old = all.str();
    }
    const std::string begin = "<!-- flood:begin -->\n", end = "<!-- flood:end -->\n";
    const std::string section = begin + text + end;
    auto from = old.find(begin), to = old.find(end);
    std::string updated = from != std::string::npos && to != std::string::npos && to > from
                              ? old.substr(0, from) + section + old.substr(to + end.size())
                              : old + (old.empty() || old.ends_with("\n\n") ? "" : "\n") + section;
    std::ofstream out(path + ".new");
    out << updated;
    out.close();
    if (!out || std::rename((path + ".new").c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
}

int run(int argc, char **argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--alfwrapper") s.alfwrapper = value();
        else if (a == "--echod") s.echod = value();
        else if (a == "--quick") s.repetitions = 2, s.quiet_seconds = 1, s.flood_seconds = 2;
        else if (a == "--repetitions") s.repetitions = std::stoi(value());
        else if (a == "--quiet-seconds") s.quiet_seconds = std::stod(value());
        else if (a == "--flood-seconds") s.flood_seconds = std::stod(value());
        else if (a == "--command") s.command = value();
        else if (a == "--results") s.results = value();
        else throw std::runtime_error("unknown argument " + a);
    }
    if (s.alfwrapper.empty() || s.echod.empty()) throw std::runtime_error("--alfwrapper and --echod are required");
    if (s.repetitions < 1 || s.quiet_seconds <= 0 || s.flood_seconds <= 0)
        throw std::runtime_error("--repetitions, --quiet-seconds and --flood-seconds must be positive");
    // Other work shares the machine and relies on short timeouts: one flood stays short.
    if (s.flood_seconds > 15) throw std::runtime_error("--flood-seconds: at most 15");
    if (std::thread::hardware_concurrency() < 2) throw std::runtime_error("needs two CPUs: one for the flooder, one for the service");
    signal(SIGPIPE, SIG_IGN);

    std::string load_before = load_average();
    char date[64];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    auto start = Clock::now();

    char dir_template[] = "/tmp/alfflood-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp");
    std::string dir = dir_template;
    std::vector<Run> runs;
    try {
        Network net;
        int port = 4242;
        for (int repetition = 0; repetition < s.repetitions; ++repetition)
            for (bool filtered : {false, true}) {
                runs.push_back(measure_run(s, net, port++, filtered, dir));
                std::cerr << "flood_bench: run " << runs.size() << " of " << 2 * s.repetitions << " done\n";
            }
    } catch (...) {
        std::filesystem::remove_all(dir);
        throw;
    }
    std::filesystem::remove_all(dir);
    std::string text = report(s, runs, date, load_before, seconds_since(start));
    std::cout << text;
    if (!s.results.empty()) write_section(s.results, text);
    return 0;
}

}  // namespace
}  // namespace flood

int main(int argc, char **argv) {
    try {
        return flood::run(argc, argv);
    } catch (const std::exception &e) {
        std::cerr << "flood_bench: FAILED: " << e.what() << "\n";
        return 1;
    }
}
