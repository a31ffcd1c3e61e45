// Live rule changes at scale: what `alfctl rules` costs on a running
// service holding a million rules, next to ipset on a set of the same size,
// and what the service's admitted clients see while a million rules are
// replaced under them.
//
//   live_bench change  COMMON [--sizes 20,1000000] [--rounds 11]
//   live_bench replace COMMON [--size 1000000] [--rounds 7]
//   live_bench load    COMMON [--size 1000000] [--replaces 5] [--rate 400]
//   COMMON: --alfwrapper PATH --alfctl PATH --echod PATH
//
// Every figure is the wall time of a whole process (alfctl, ipset,
// alfwrapper), from fork to exit, as an operator would wait for it; alfctl's
// and alfwrapper's own -v timings say where that time goes. Rule sets are
// rule_bench's (bench/rules/bench_support.hpp) with `allow 127.0.0.1` and
// `allow ::1` in front, so that loopback clients are admitted by a rule and
// every other loopback address is refused. Needs root, and ipset for
// `change`. Prints Markdown.
#include "bench_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

using alf::bench::ChildRun;
using alf::bench::figure_after;
using alf::bench::median;
using Clock = std::chrono::steady_clock;

struct Settings {
    std::string alfwrapper, alfctl, echod;
};

// Where the benchmark writes its rules files; removed when it ends.
class Scratch {
public:
    Scratch() {
        std::string pattern = (std::filesystem::temp_directory_path() / "live-bench-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot make a temporary directory");
        path_ = pattern;
    }
    ~Scratch() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

const Scratch &scratch() {
    static Scratch dir;
    return dir;
}

ChildRun run(const std::string &program, const std::vector<std::string> &args) {
    return alf::bench::run_program(program, args, scratch().path());
}

ChildRun run_checked(const std::string &program, const std::vector<std::string> &args) {
    ChildRun result = run(program, args);
    if (!result.succeeded()) throw std::runtime_error(result.failure(program));
    return result;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string fixed(double value, const char *format = "%.1f") {
    char text[32];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

// "12.3 (10.1-15.0)": the median and the range.
std::string spread(const std::vector<double> &values, const char *format = "%.1f") {
    auto [least, most] = std::minmax_element(values.begin(), values.end());
    return fixed(median(values), format) + " (" + fixed(*least, format) + "-" + fixed(*most, format) + ")";
}

// A rules file of `size` rules: loopback's two clients admitted, then the
// benchmark's rule set (its seed telling two sets apart).
std::string write_rules(std::size_t size, std::uint64_t seed) {
    std::string path = scratch().file("rules-" + std::to_string(size) + "-" + std::to_string(seed) + ".txt");
    std::ofstream out(path);
    out << "allow 127.0.0.1\nallow ::1\n";
    alf::bench::generate_rules(size - 2, out, {false, seed});
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
    return path;
}

// A port no socket holds, below the ephemeral range (a client's port in
// TIME_WAIT would refuse the service's bind).
int free_port() {
    static std::mt19937 random(static_cast<unsigned>(getpid()));
    for (int attempt = 0; attempt < 200; ++attempt) {
        int port = 20000 + static_cast<int>(random() % 10000);
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_port = htons(static_cast<std::uint16_t>(port));
        bool free = bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
        close(fd);
        if (free) return port;
    }
    throw std::runtime_error("no free port");
}

// --- a client ---------------------------------------------------------------

enum class Outcome { echoed, timed_out, refused, broken };

const char *outcome_name(Outcome outcome) {
    switch (outcome) {
    case Outcome::echoed: return "echoed";
    case Outcome::timed_out: return "timed out";
    case Outcome::refused: return "refused";
    case Outcome::broken: return "broken off";
    }
    return "?";
}

struct Attempt {
    double started = 0, ended = 0;  // seconds since the load began
    Outcome outcome = Outcome::broken;
    bool retransmitted = false;  // a segment (the SYN, say) was sent again: one was dropped
};

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int n = poll(&p, 1, static_cast<int>(left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

// One connection from `source` to the service on loopback: connect, 64
// bytes out, the same 64 back, close with a reset (so that no port waits in
// TIME_WAIT). The outcome, and whether TCP had to send anything twice.
Attempt connect_and_echo(const char *source, int port, int timeout_ms) {
    Attempt attempt;
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    bind(fd, reinterpret_cast<sockaddr *>(&from), sizeof from);
    auto finish = [&](Outcome outcome) {
        tcp_info info{};
        socklen_t length = sizeof info;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0)
            attempt.retransmitted = info.tcpi_total_retrans > 0;
        linger reset{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        close(fd);
        attempt.outcome = outcome;
        return attempt;
    };
    if (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) != 0 && errno != EINPROGRESS)
        return finish(errno == ECONNREFUSED ? Outcome::refused : Outcome::broken);
    if (!wait_for(fd, POLLOUT, deadline)) return finish(Outcome::timed_out);
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error) return finish(error == ECONNREFUSED ? Outcome::refused : Outcome::broken);
    char out[64], in[64];
    std::memset(out, 'l', sizeof out);
    if (send(fd, out, sizeof out, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof out)) return finish(Outcome::broken);
    std::size_t got = 0;
    while (got < sizeof in) {
        if (!wait_for(fd, POLLIN, deadline)) return finish(Outcome::timed_out);
        ssize_t n = recv(fd, in + got, sizeof in - got, 0);
        if (n <= 0) return finish(Outcome::broken);
        got += static_cast<std::size_t>(n);
    }
    return finish(std::memcmp(in, out, sizeof in) == 0 ? Outcome::echoed : Outcome::broken);
}

// --- the service --------------------------------------------------------------

// bench_echod behind alfwrapper, holding the rules of a file, known to
// alfctl by its own name; stopped with its process group.
class Service {
public:
    Service(const Settings &s, const std::string &rules_file)
        : name_("live-bench-" + std::to_string(getpid()) + "-" + std::to_string(++started_)), port_(free_port()) {
        std::string log = scratch().file(name_ + ".log");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(err, 2);
            std::string port = std::to_string(port_);
            execl(s.alfwrapper.c_str(), "alfwrapper", "-q", "--name", name_.c_str(), "--port", port.c_str(),
                  "--rules-file", rules_file.c_str(), "--", s.echod.c_str(), static_cast<char *>(nullptr));
            std::perror("exec alfwrapper");
            _exit(127);
        }
        auto start = Clock::now();
        while (connect_and_echo("127.0.0.1", port_, 1000).outcome != Outcome::echoed) {
            int status;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                std::ifstream in(log);
                std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                throw std::runtime_error("the service exited at start:\n" + text);
            }
            if (seconds_since(start) > 60) {
                stop();
                throw std::runtime_error("the service did not answer within 60 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        // The filter is in force: a loopback address no rule admits is refused.
        if (connect_and_echo("127.0.0.2", port_, 300).outcome == Outcome::echoed) {
            stop();
            throw std::runtime_error("the service admitted 127.0.0.2, which its rules refuse: no filter in force");
        }
    }
    ~Service() { stop(); }
    Service(const Service &) = delete;
    Service &operator=(const Service &) = delete;

    const std::string &name() const { return name_; }
    int port() const { return port_; }

private:
    void stop() { alf::bench::kill_process_group(pid_); }
    static inline int started_ = 0;
    std::string name_;
    int port_;
    pid_t pid_ = -1;
};

// --- alfctl rules, timed ------------------------------------------------------

// One `alfctl -v rules NAME ...`: its wall time and its own steps (alfctl
// prints "changed in T: find A ms, lock B ms, read C ms, ...").
struct Change {
    double wall_ms = 0, changed_ms = 0;
    std::vector<std::pair<std::string, double>> steps;
    std::size_t rules = 0;
    unsigned long generation = 0;

    double step(const std::string &name) const {
        for (const auto &[n, ms] : steps)
            if (n == name) return ms;
        return 0;
    }
    // Process start-up and exit: what the steps do not cover.
    double rest() const { return wall_ms - changed_ms; }
};

Change alfctl_rules(const Settings &s, const std::string &service, const std::vector<std::string> &action) {
    std::vector<std::string> args = {"rules", "-v", service};
    args.insert(args.end(), action.begin(), action.end());
    ChildRun result = run_checked(s.alfctl, args);
    const std::string &text = result.stderr_text;
    Change change;
    change.wall_ms = result.wall_ms;
    change.changed_ms = figure_after(text, "changed in ");
    change.rules = static_cast<std::size_t>(figure_after(text, "): "));
    change.generation = static_cast<unsigned long>(figure_after(text, "(generation "));
    auto colon = text.find(": ", text.find("changed in "));
    if (change.changed_ms < 0 || colon == std::string::npos)
        throw std::runtime_error("alfctl -v printed no timings:\n" + text);
    std::string steps = text.substr(colon + 2, text.find('\n', colon) - colon - 2);
    for (std::size_t at = 0; at < steps.size();) {
        std::size_t space = steps.find(' ', at), end = steps.find(", ", at);
        if (end == std::string::npos) end = steps.size();
        change.steps.emplace_back(steps.substr(at, space - at), std::atof(steps.c_str() + space + 1));
        at = end + 2;
    }
    return change;
}

// `alfctl rules NAME replace --rules-file FILE`, checked: `size` rules in
// force after it, under a generation newer than `generation` (updated).
Change replace_rules(const Settings &s, const std::string &service, const std::string &file, std::size_t size,
                     unsigned long &generation) {
    Change change = alfctl_rules(s, service, {"replace", "--rules-file", file});
    if (change.rules != size || change.generation <= generation)
        throw std::runtime_error("alfctl rules replace did not put the " + std::to_string(size) + " rules of " + file +
                                 " in force");
    generation = change.generation;
    return change;
}

// --- ipset --------------------------------------------------------------------

// A hash:net set of `size` distinct random IPv4 prefixes (/16-/32, the
// lengths drawn as rule_bench draws them), none within 203.0.113.0/24,
// the prefix the benchmark adds and removes; destroyed with the object.
class IpSet {
public:
    explicit IpSet(std::size_t size) : name_("live-bench-" + std::to_string(getpid())) {
        std::string path = scratch().file("ipset.txt");
        {
            std::ofstream out(path);
            std::size_t hash = 1024;
            while (hash < size) hash *= 2;
            out << "create " << name_ << " hash:net family inet hashsize " << hash << " maxelem "
                << std::max<std::size_t>(65536, 2 * size) << "\n";
            std::mt19937_64 random(42);
            std::unordered_set<std::uint64_t> taken;
            char line[96];
            while (taken.size() < size) {
                unsigned length = random() % 10 < 7 ? 16 + random() % 9 : 25 + random() % 8;
                auto address = static_cast<std::uint32_t>(random() & ~((1ull << (32 - length)) - 1));
                if ((address >> 8) == 0xcb0071 || !taken.insert(std::uint64_t(address) << 8 | length).second) continue;
                std::snprintf(line, sizeof line, "add %s %u.%u.%u.%u/%u\n", name_.c_str(), address >> 24,
                              (address >> 16) & 255, (address >> 8) & 255, address & 255, length);
                out << line;
            }
            if (!out.flush()) throw std::runtime_error("cannot write " + path);
        }
        run("ipset", {"destroy", name_});  // left over from a run that was killed
        ChildRun restore = run("sh", {"-c", "exec ipset restore < \"$0\"", path});
        std::remove(path.c_str());
        if (!restore.succeeded()) throw std::runtime_error(restore.failure("ipset restore"));
        restore_ms_ = restore.wall_ms;
        ChildRun list = run_checked("ipset", {"list", name_, "-terse"});
        if (figure_after(list.stdout_text, "Number of entries: ") != static_cast<double>(size))
            throw std::runtime_error("ipset set " + name_ + " does not hold " + std::to_string(size) + " entries:\n" +
                                     list.stdout_text);
    }
    ~IpSet() { run("ipset", {"destroy", name_}); }
    IpSet(const IpSet &) = delete;
    IpSet &operator=(const IpSet &) = delete;

    const std::string &name() const { return name_; }
    double restore_ms() const { return restore_ms_; }

private:
    std::string name_;
    double restore_ms_ = 0;
};

// --- change: one rule added and removed, next to ipset --------------------------

int run_change(const Settings &s, const std::vector<std::size_t> &sizes, int rounds) {
    const std::string prefix = "203.0.113.0/24";
    struct Row {
        std::size_t size;
        std::vector<Change> deny, remove;
        std::vector<double> add_ms, del_ms;
        double restore_ms;
    };
    std::vector<Row> rows;
    for (std::size_t size : sizes) {
        std::string path = write_rules(size, 42);
        Service service(s, path);
        IpSet set(size);
        Row row{size, {}, {}, {}, {}, set.restore_ms()};
        auto ipset = [&](const char *verb) { return run_checked("ipset", {verb, set.name(), prefix}).wall_ms; };
        for (int round = 0; round < rounds; ++round) {
            // In turn first, so that neither side always runs on a cache the other warmed.
            bool alfctl_first = round % 2 == 0;
            if (!alfctl_first) row.add_ms.push_back(ipset("add"));
            row.deny.push_back(alfctl_rules(s, service.name(), {"deny", prefix}));
            if (alfctl_first) row.add_ms.push_back(ipset("add"));
            if (!alfctl_first) row.del_ms.push_back(ipset("del"));
            row.remove.push_back(alfctl_rules(s, service.name(), {"remove", prefix}));
            if (alfctl_first) row.del_ms.push_back(ipset("del"));
            if (row.deny.back().rules != size + 1 || row.remove.back().rules != size)
                throw std::runtime_error("alfctl rules did not add and remove one rule: " +
                                         std::to_string(row.deny.back().rules) + ", then " +
                                         std::to_string(row.remove.back().rules) + " rules in force");
        }
        std::remove(path.c_str());
        rows.push_back(std::move(row));
    }
    std::cout << "| rules | change | alfctl ms | ipset ms | alfctl / ipset |\n|---|---|---|---|---|\n";
    for (const auto &row : rows) {
        for (bool adding : {true, false}) {
            const auto &changes = adding ? row.deny : row.remove;
            const auto &ipset = adding ? row.add_ms : row.del_ms;
            std::vector<double> alfctl, ratio;
            for (std::size_t i = 0; i < changes.size(); ++i) {
                alfctl.push_back(changes[i].wall_ms);
                ratio.push_back(changes[i].wall_ms / ipset[i]);
            }
            std::cout << "| " << row.size << " | "
                      << (adding ? "add " + prefix + ": `alfctl rules NAME deny`, `ipset add`"
                                 : "remove it: `alfctl rules NAME remove`, `ipset del`")
                      << " | " << spread(alfctl) << " | " << spread(ipset) << " | " << spread(ratio, "%.2f") << " |\n";
        }
    }
    std::cout << "\nWhere alfctl's time goes (its -v steps, medians, ms; \"start and exit\" is the wall time less "
                 "the steps: loading the program, exiting; \"edit\" is a change made in place, the others a set "
                 "published whole):\n\n"
              << "| rules | command | whole process | find | lock | read | change | compile | publish | edit | start "
                 "and exit |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto &row : rows) {
        for (bool adding : {true, false}) {
            const auto &changes = adding ? row.deny : row.remove;
            auto of = [&](auto figure) {
                std::vector<double> values;
                for (const auto &c : changes) values.push_back(figure(c));
                return fixed(median(values));
            };
            std::cout << "| " << row.size << " | " << (adding ? "deny" : "remove") << " | "
                      << of([](const Change &c) { return c.wall_ms; });
            for (const char *step : {"find", "lock", "read", "change", "compile", "publish", "edit"})
                std::cout << " | " << of([&](const Change &c) { return c.step(step); });
            std::cout << " | " << of([](const Change &c) { return c.rest(); }) << " |\n";
        }
    }
    std::cout << "\nThe ipset sets were filled by `ipset restore`: ";
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::cout << (i ? ", " : "") << rows[i].size << " prefixes in " << fixed(rows[i].restore_ms / 1000, "%.2f")
                  << " s";
    std::cout << ".\n";
    return 0;
}

// --- replace: a million rules put in place, next to a start with them -----------

int run_replace(const Settings &s, std::size_t size, int rounds) {
    std::string files[2] = {write_rules(size, 42), write_rules(size, 43)};
    Service service(s, files[0]);
    std::vector<Change> replaces;
    std::vector<double> start_wall, start_read, start_compile, start_write, ratio;
    unsigned long generation = 0;
    for (int round = 0; round < rounds; ++round) {
        const std::string &file = files[(round + 1) % 2];  // the other set than the one in force
        auto start = [&] {
            ChildRun r = run_checked(s.alfwrapper, {"-v", "--port", std::to_string(free_port()), "--rules-file", file,
                                                   "--dry-run", "--", "true"});
            start_wall.push_back(r.wall_ms);
            start_read.push_back(figure_after(r.stderr_text, "read in "));
            start_compile.push_back(figure_after(r.stderr_text, "address ranges in "));
            start_write.push_back(figure_after(r.stderr_text, "tables written in "));
        };
        if (round % 2) start();
        replaces.push_back(replace_rules(s, service.name(), file, size, generation));
        if (round % 2 == 0) start();
        ratio.push_back(replaces.back().wall_ms / start_wall.back());
    }
    std::vector<double> wall, read, compile, publish, rest;
    for (const auto &r : replaces) {
        wall.push_back(r.wall_ms);
        read.push_back(r.step("read"));
        compile.push_back(r.step("compile"));
        publish.push_back(r.step("publish"));
        rest.push_back(r.wall_ms - r.step("read") - r.step("compile") - r.step("publish"));
    }
    std::vector<double> start_rest;
    for (std::size_t i = 0; i < start_wall.size(); ++i)
        start_rest.push_back(start_wall[i] - start_read[i] - start_compile[i] - start_write[i]);
    std::cout << "| command | rules | wall ms | read ms | compile ms | write ms | the rest ms |\n"
                 "|---|---|---|---|---|---|---|\n"
              << "| `alfctl rules NAME replace --rules-file F` | " << size << " | " << spread(wall) << " | "
              << fixed(median(read)) << " | " << fixed(median(compile)) << " | " << fixed(median(publish)) << " | "
              << fixed(median(rest)) << " |\n"
              << "| `alfwrapper --rules-file F --dry-run -- true` | " << size << " | " << spread(start_wall) << " | "
              << fixed(median(start_read)) << " | " << fixed(median(start_compile)) << " | "
              << fixed(median(start_write)) << " | " << fixed(median(start_rest)) << " |\n"
              << "\nreplace / start, median of the pairs (min-max): " << spread(ratio, "%.2f") << "\n";
    return 0;
}

// --- load: admitted clients while a million rules are replaced -----------------

struct Window {
    double from, to;  // seconds since the load began
};

int run_load(const Settings &s, std::size_t size, int replace_count, int rate) {
    std::string files[2] = {write_rules(size, 42), write_rules(size, 43)};
    Service service(s, files[0]);
    const int threads = 2, timeout_ms = 3000;
    const auto interval = std::chrono::microseconds(1000000LL * threads / rate);
    std::vector<std::vector<Attempt>> attempts(threads);
    std::atomic<bool> stopping{false};
    auto begin = Clock::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
        clients.emplace_back([&, t] {
            // Paced, not back to back: a steady load that leaves the CPUs to the replace.
            auto next = begin + interval * t / threads;
            while (!stopping) {
                std::this_thread::sleep_until(next);
                next += interval;
                Attempt a;
                double started = seconds_since(begin);
                a = connect_and_echo("127.0.0.1", service.port(), timeout_ms);
                a.started = started;
                a.ended = seconds_since(begin);
                attempts[static_cast<std::size_t>(t)].push_back(a);
                if (Clock::now() > next + std::chrono::seconds(1)) next = Clock::now();  // no burst after a stall
            }
        });
    std::vector<Window> windows;
    std::vector<double> replace_ms;
    unsigned long generation = 0;
    std::string failure;
    try {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        for (int i = 0; i < replace_count; ++i) {
            double from = seconds_since(begin);
            Change change = replace_rules(s, service.name(), files[(i + 1) % 2], size, generation);
            windows.push_back({from, seconds_since(begin)});
            replace_ms.push_back(change.wall_ms);
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } catch (const std::exception &e) {
        failure = e.what();
    }
    stopping = true;
    for (auto &c : clients) c.join();
    if (!failure.empty()) throw std::runtime_error(failure);
    if (connect_and_echo("127.0.0.2", service.port(), 300).outcome == Outcome::echoed)
        throw std::runtime_error("127.0.0.2 was admitted after the replaces: no filter in force");

    struct Tally {
        std::size_t attempts = 0, failed = 0, retransmitted = 0;
        std::vector<double> us;
        std::vector<std::string> failures;
    } during, between;
    for (const auto &list : attempts)
        for (const auto &a : list) {
            bool overlaps = std::any_of(windows.begin(), windows.end(),
                                        [&](const Window &w) { return a.started < w.to && a.ended > w.from; });
            Tally &t = overlaps ? during : between;
            ++t.attempts;
            if (a.retransmitted) ++t.retransmitted;
            if (a.outcome != Outcome::echoed) {
                ++t.failed;
                if (t.failures.size() < 5)
                    t.failures.push_back(std::string(outcome_name(a.outcome)) + " at " + fixed(a.started, "%.3f") +
                                         " s");
            } else {
                t.us.push_back((a.ended - a.started) * 1e6);
            }
        }
    auto percentile = [](std::vector<double> v, double p) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
    };
    std::cout << replace_count << " replaces of " << size << " rules (`alfctl rules NAME replace --rules-file F`, "
              << "two rule sets in turn), 0.5 s apart, each taking " << spread(replace_ms, "%.0f")
              << " ms (median, min-max); meanwhile " << threads
              << " client threads connect from 127.0.0.1 (admitted by a rule) " << rate
              << " times a second in all, each connection 64 bytes each way, " << timeout_ms / 1000
              << " s to complete. An attempt counts as during a replace when it overlaps an alfctl process.\n\n"
              << "| admitted connections | attempts | failed | with a retransmission | p50 us | p99 us | max us |\n"
                 "|---|---|---|---|---|---|---|\n";
    for (auto *t : {&during, &between}) {
        std::cout << "| " << (t == &during ? "during a replace" : "between replaces") << " | " << t->attempts << " | "
                  << t->failed << " | " << t->retransmitted << " | " << fixed(percentile(t->us, 0.5), "%.0f") << " | "
                  << fixed(percentile(t->us, 0.99), "%.0f") << " | "
                  << fixed(t->us.empty() ? 0 : *std::max_element(t->us.begin(), t->us.end()), "%.0f") << " |\n";
    }
    for (auto *t : {&during, &between})
        for (const auto &f : t->failures)
            std::cout << "\nfailed " << (t == &during ? "during" : "between") << ": " << f << "  \n";
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << "usage: live_bench change|replace|load --alfwrapper PATH --alfctl PATH --echod PATH ... "
                     "(see the source's header)\n";
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    std::string mode = args[0];
    Settings s;
    std::vector<std::size_t> sizes = {20, 1000000};
    std::size_t size = 1000000;
    int rounds = mode == "change" ? 11 : 7, replaces = 5, rate = 400;
    try {
        for (std::size_t i = 1; i < args.size(); i += 2) {
            if (i + 1 >= args.size()) throw std::runtime_error("missing value after " + args[i]);
            const std::string &value = args[i + 1];
            if (args[i] == "--alfwrapper") s.alfwrapper = value;
            else if (args[i] == "--alfctl") s.alfctl = value;
            else if (args[i] == "--echod") s.echod = value;
            else if (args[i] == "--sizes") sizes = alf::bench::parse_sizes(value);
            else if (args[i] == "--size") size = std::stoul(value);
            else if (args[i] == "--rounds") rounds = std::stoi(value);
            else if (args[i] == "--replaces") replaces = std::stoi(value);
            else if (args[i] == "--rate") rate = std::stoi(value);
            else throw std::runtime_error("unknown argument " + args[i]);
        }
        if (s.alfwrapper.empty() || s.alfctl.empty() || s.echod.empty())
            throw std::runtime_error("--alfwrapper, --alfctl and --echod are needed");
        if (rounds < 1 || replaces < 1 || rate < 2 || size < 20)
            throw std::runtime_error("--rounds and --replaces at least 1, --rate at least 2, --size at least 20");
        if (mode == "change") return run_change(s, sizes, rounds);
        if (mode == "replace") return run_replace(s, size, rounds);
        if (mode == "load") return run_load(s, size, replaces, rate);
        throw std::runtime_error("unknown mode " + mode);
    } catch (const std::exception &e) {
        std::cerr << "live_bench: " << e.what() << "\n";
        return 1;
    }
}
