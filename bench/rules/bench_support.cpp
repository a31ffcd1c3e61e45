#include "bench_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace alf::bench {

const char *const chain_rules[] = {
    "allow 198.0.0.0/8",     "deny 198.48.0.0/12",     "allow 198.51.0.0/16",   "deny 198.51.96.0/20",
    "allow 198.51.100.0/24", "deny 198.51.100.0/28",   "allow 198.51.100.7/32",
    "allow 2001:db8::/32",   "deny 2001:db8:1234::/48", "allow 2001:db8:1234:5678::/64",
    "deny 2001:db8:1234:5678::/96", "allow 2001:db8:1234:5678::/112", "deny 2001:db8:1234:5678::/120",
    "allow 2001:db8:1234:5678::7/128",
};
const std::size_t chain_count = 14;
static_assert(sizeof chain_rules / sizeof chain_rules[0] == 14);

void generate_rules(std::size_t n, std::ostream &out, const RuleSetShape &shape) {
    std::mt19937_64 random(shape.seed);
    for (std::size_t i = 0; i < chain_count && i < n; ++i) out << chain_rules[i] << "\n";
    char line[96];
    for (std::size_t i = chain_count; i < n; ++i) {
        const char *verb = random() % 4 == 0 ? "deny" : "allow";
        if (i % 2 == 0) {
            unsigned len = random() % 10 < 7 ? 16 + random() % 9 : 25 + random() % 8;
            std::uint32_t address = static_cast<std::uint32_t>(random());
            if (len < 8) len = 8;
            unsigned top = address >> 24;
            if (top == 198 || top == 127) address ^= 0x40000000;
            if (shape.clustered) address = 0x64400000u | (address & 0x003fffffu);
            address &= len == 32 ? ~0u : ~((1u << (32 - len)) - 1);
            std::snprintf(line, sizeof line, "%s %u.%u.%u.%u/%u\n", verb, address >> 24, (address >> 16) & 255,
                          (address >> 8) & 255, address & 255, len);
        } else {
            unsigned len = random() % 10 < 8 ? 24 + random() % 41 : 128;
            std::uint64_t hi = random(), lo = random();
            hi = (hi & 0x0fffffffffffffffull) | 0x2000000000000000ull;  // 2000::/4, global unicast
            if ((hi >> 32) == 0x20010db8) hi ^= 0x0000000100000000ull;
            if (shape.clustered) hi = 0x2a00000000000000ull | (hi & 0x000fffffffffffffull);
            if (len <= 64) {
                lo = 0;
                hi &= len == 64 ? ~0ull : ~((1ull << (64 - len)) - 1);
            }
            std::snprintf(line, sizeof line, "%s %x:%x:%x:%x:%x:%x:%x:%x/%u\n", verb, unsigned(hi >> 48) & 0xffff,
                          unsigned(hi >> 32) & 0xffff, unsigned(hi >> 16) & 0xffff, unsigned(hi) & 0xffff,
                          unsigned(lo >> 48) & 0xffff, unsigned(lo >> 32) & 0xffff, unsigned(lo >> 16) & 0xffff,
                          unsigned(lo) & 0xffff, len);
        }
        out << line;
    }
}

void generate_rules(std::size_t n, const std::string &path, const RuleSetShape &shape) {
    std::ofstream out(path);
    generate_rules(n, out, shape);
    if (!out.flush()) throw std::runtime_error("cannot write the rules file " + path);
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<std::size_t> parse_sizes(const std::string &text) {
    std::vector<std::size_t> sizes;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) sizes.push_back(std::stoul(part));
    return sizes;
}

double figure_after(const std::string &text, const std::string &label) {
    auto at = text.find(label);
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + label.size());
}

bool ChildRun::succeeded() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string ChildRun::failure(const std::string &program) const {
    std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return program + " failed (" + how + "):\n" + stderr_text;
}

namespace {

std::string take_file(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path.c_str());
    return text.str();
}

}  // namespace

void kill_process_group(pid_t &pid) {
    if (pid <= 0) return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
}

ChildRun run_program(const std::string &program, const std::vector<std::string> &args, const std::string &scratch) {
    std::string out_path = scratch + "/stdout", err_path = scratch + "/stderr";
    // posix_spawn (vfork, exec): the time measured is the program's, not the
    // copying of this process's page tables that a fork of it would add.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char *> argv = {const_cast<char *>(program.c_str())};
    for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    int failed = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (failed != 0) return {0, 0, "", program + ": " + std::strerror(failed) + "\n", 127 << 8};  // as a shell says it
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return {wall, usage.ru_maxrss, take_file(out_path), take_file(err_path), status};
}

}  // namespace alf::bench
