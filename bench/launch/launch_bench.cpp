// Launch latency of alfwrapper: from the moment it is started to the moment
// the program it starts is running, for a filter given as source (compiled
// by the embedded compiler, with an empty compile cache), from the compile cache, and as
// a precompiled object; against the way other tools do it: clang run as a
// process, then the object loaded (here by alfwrapper).
//
// The program alfwrapper starts is `stamp`, which writes the CLOCK_MONOTONIC
// time it began running to a file; the latency is that time minus the time
// just before alfwrapper was spawned. All scenarios run interleaved, round
// after round, so that a noisy neighbour hurts them alike.
//
//   launch_bench --alfwrapper PATH --alfctl PATH --stamp PATH --headers DIR
//                [--clang PATH] [--runs N] FILTER.c...
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

namespace fs = std::filesystem;

namespace {

struct Settings {
    std::string alfwrapper, alfctl, stamp, headers, clang = "clang-14";
    int runs = 21;
    std::vector<std::string> filters;
};

std::int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string &message) {
    std::cerr << "launch_bench: " << message << "\n";
    std::exit(1);
}

// Runs argv to completion; stderr goes to `stderr_path` (or is discarded).
int run(const std::vector<std::string> &argv, const std::string &stderr_path = "/dev/null") {
    std::vector<char *> raw;
    for (const auto &a : argv) raw.push_back(const_cast<char *>(a.c_str()));
    raw.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int err = posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err) fail("cannot start " + argv[0] + ": " + std::strerror(err));
    int status;
    if (waitpid(pid, &status, 0) < 0) fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Milliseconds from `start` to the stamp's start, or a failure with stderr.
double stamped(std::int64_t start, const std::string &stamp_file, int status, const std::string &stderr_path,
               const std::string &what) {
    std::string text = read_text(stamp_file);
    if (status != 0 || text.empty())
        fail(what + ": exit status " + std::to_string(status) + ", no stamp:\n" + read_text(stderr_path));
    fs::remove(stamp_file);
    return double(std::stoll(text) - start) / 1e6;
}

std::uint16_t free_port() {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    socklen_t size = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr *>(&address), size) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) != 0)
        fail("no free port");
    close(fd);
    return ntohs(address.sin6_port);
}

struct Stats {
    double median, p10, p90;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[static_cast<std::size_t>(q * double(v.size() - 1) + 0.5)]; };
    return {at(0.5), at(0.1), at(0.9)};
}

// "compiled F in 17 ms (fast optimizer)" in alfwrapper's or alfctl's -v output.
double compile_ms(const std::string &stderr_text) {
    std::smatch m;
    static const std::regex pattern(R"(compiled .* in ([0-9.]+) ms)");
    if (!std::regex_search(stderr_text, m, pattern)) fail("no compile time in:\n" + stderr_text);
    return std::stod(m[1]);
}

void bench_filter(const Settings &settings, const std::string &filter, const fs::path &work) {
    const std::string port = std::to_string(free_port());
    const std::string stamp_file = (work / "stamp").string();
    const std::string errors = (work / "stderr").string();
    const std::string warm_cache = (work / "warm-cache").string();
    const std::string object = (work / "filter.o").string();
    const std::string clang_object = (work / "clang.o").string();
    const std::vector<std::string> then_stamp = {settings.stamp, stamp_file};

    auto alfwrapper = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = {settings.alfwrapper, "--port", port};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), then_stamp.begin(), then_stamp.end());
        return argv;
    };
    if (run({settings.alfctl, "compile", "--no-cache", filter, "-o", object}, errors) != 0)
        fail("alfctl compile " + filter + ":\n" + read_text(errors));
    if (run(alfwrapper({"--cache-dir", warm_cache, filter}), errors) != 0) fail("warming the cache:\n" + read_text(errors));

    std::map<std::string, std::function<double()>> scenarios = {
        {"1 cold: alfwrapper FILTER.c, empty compile cache", [&] {
             fs::path cache = work / "cold-cache";
             fs::remove_all(cache);
             auto argv = alfwrapper({"--cache-dir", cache.string(), filter});
             std::int64_t start = now_ns();
             int status = run(argv, errors);
             return stamped(start, stamp_file, status, errors, "cold launch");
         }},
        {"2 cached: alfwrapper FILTER.c, compile cache hit", [&] {
             auto argv = alfwrapper({"--cache-dir", warm_cache, filter});
             std::int64_t start = now_ns();
             int status = run(argv, errors);
             return stamped(start, stamp_file, status, errors, "cached launch");
         }},
        {"3 precompiled: alfwrapper FILTER.o (alfctl compile)", [&] {
             auto argv = alfwrapper({object});
             std::int64_t start = now_ns();
             int status = run(argv, errors);
             return stamped(start, stamp_file, status, errors, "precompiled launch");
         }},
        {"4 clang -O2 -g -target bpf -c as a process, then alfwrapper FILTER.o", [&] {
             std::vector<std::string> clang = {settings.clang, "-O2", "-g", "-target", "bpf", "-nostdinc",
                                               "-I", settings.headers, "-c", filter, "-o", clang_object};
             auto argv = alfwrapper({clang_object});
             std::int64_t start = now_ns();
             if (run(clang, errors) != 0) fail("clang:\n" + read_text(errors));
             int status = run(argv, errors);
             return stamped(start, stamp_file, status, errors, "clang + load");
         }},
        {"5 baseline: the stamp program alone", [&] {
             std::int64_t start = now_ns();
             int status = run(then_stamp, errors);
             return stamped(start, stamp_file, status, errors, "baseline");
         }},
        {"6 embedded compile, fast optimizer (alfwrapper -v)", [&] {
             fs::path cache = work / "cold-cache";
             fs::remove_all(cache);
             auto argv = alfwrapper({"-v", "--cache-dir", cache.string(), filter});
             if (run(argv, errors) != 0) fail("alfwrapper -v:\n" + read_text(errors));
             fs::remove(stamp_file);
             return compile_ms(read_text(errors));
         }},
        {"7 embedded compile, full optimizer -O2 (alfctl compile -v)", [&] {
             if (run({settings.alfctl, "compile", "-v", "--no-cache", filter, "-o", object}, errors) != 0)
                 fail("alfctl compile -v:\n" + read_text(errors));
             return compile_ms(read_text(errors));
         }},
    };
    // The launches that take a few milliseconds run five times a round: their
    // medians then stand on enough runs to tell tenths of a millisecond.
    auto repeats = [](const std::string &name) { return name[0] == '2' || name[0] == '3' || name[0] == '5' ? 5 : 1; };
    std::map<std::string, std::vector<double>> samples;
    for (int round = 0; round < settings.runs; ++round)
        for (auto &[name, scenario] : scenarios)
            for (int i = 0; i < repeats(name); ++i) samples[name].push_back(scenario());

    std::cout << "\n### " << filter << "\n\n" << settings.runs << " runs of each scenario, interleaved (" << 5 * settings.runs
              << " of the cached, precompiled and baseline launches, five a round); milliseconds\n\n"
              << "| scenario | median | p10 | p90 |\n|---|---:|---:|---:|\n";
    for (const auto &[name, values] : samples) {
        Stats s = stats(values);
        char line[256];
        std::snprintf(line, sizeof line, "| %s | %.1f | %.1f | %.1f |\n", name.substr(2).c_str(), s.median, s.p10, s.p90);
        std::cout << line;
    }
}

Settings parse(int argc, char **argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value");
            return argv[++i];
        };
        if (a == "--alfwrapper") settings.alfwrapper = value();
        else if (a == "--alfctl") settings.alfctl = value();
        else if (a == "--stamp") settings.stamp = value();
        else if (a == "--headers") settings.headers = value();
        else if (a == "--clang") settings.clang = value();
        else if (a == "--runs") settings.runs = std::max(1, std::atoi(value().c_str()));
        else if (a.starts_with("-")) fail("unknown option " + a);
        else settings.filters.push_back(fs::absolute(a).string());
    }
    if (settings.alfwrapper.empty() || settings.alfctl.empty() || settings.stamp.empty() || settings.headers.empty() ||
        settings.filters.empty())
        fail("usage: launch_bench --alfwrapper PATH --alfctl PATH --stamp PATH --headers DIR [--clang PATH] "
             "[--runs N] FILTER.c...");
    if (settings.clang.find('/') == std::string::npos) settings.clang = "/usr/bin/" + settings.clang;
    return settings;
}

}  // namespace

int main(int argc, char **argv) {
    Settings settings = parse(argc, argv);
    char dir[] = "/tmp/alf-launch-bench-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    for (const auto &filter : settings.filters) bench_filter(settings, filter, dir);
    fs::remove_all(dir);
}
