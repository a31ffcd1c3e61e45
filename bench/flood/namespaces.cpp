#include "namespaces.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace flood {

namespace {

[[noreturn]] void fail_errno(const std::string &what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string words(const std::vector<std::string> &argv) {
    std::string text;
    for (const auto &word : argv) text += (text.empty() ? "" : " ") + word;
    return text;
}

}  // namespace

NetworkNamespace::NetworkNamespace() {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) fail_errno("pipe");
    pid_t parent = getpid();
    holder_ = fork();
    if (holder_ < 0) fail_errno("fork");
    if (holder_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);  // the benchmark died before the line above
        char ok = unshare(CLONE_NEWNET) == 0 ? '1' : '0';
        (void)!write(ready[1], &ok, 1);
        for (;;) pause();
    }
    close(ready[1]);
    char ok = '0';
    ssize_t n = read(ready[0], &ok, 1);
    close(ready[0]);
    if (n != 1 || ok != '1') {
        kill(holder_, SIGKILL);
        waitpid(holder_, nullptr, 0);
        throw std::runtime_error("cannot create a network namespace (unshare(CLONE_NEWNET) needs root)");
    }
    fd_ = open(("/proc/" + std::to_string(holder_) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_errno("open the new network namespace");
    run({"ip", "link", "set", "lo", "up"});
}

NetworkNamespace::~NetworkNamespace() {
    if (fd_ >= 0) close(fd_);
    kill(holder_, SIGKILL);
    waitpid(holder_, nullptr, 0);
}

void NetworkNamespace::run(const std::vector<std::string> &argv) const {
    pid_t pid = fork();
    if (pid < 0) fail_errno("fork");
    if (pid == 0) {
        if (setns(fd_, CLONE_NEWNET) != 0) _exit(126);
        std::vector<char *> args;
        for (const auto &word : argv) args.push_back(const_cast<char *>(word.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("in the benchmark's namespace, `" + words(argv) + "` failed");
}

void NetworkNamespace::enter_this_thread() const {
    if (setns(fd_, CLONE_NEWNET) != 0) fail_errno("setns into the benchmark's namespace");
}

std::string NetworkNamespace::proc_net(const std::string &name) const {
    return "/proc/" + std::to_string(holder_) + "/net/" + name;
}

void connect_veth(const VethEnd &a, const VethEnd &b) {
    a.ns.run({"ip", "link", "add", a.interface, "type", "veth", "peer", "name", b.interface, "netns",
              std::to_string(b.ns.holder())});
    for (const VethEnd *end : {&a, &b}) {
        end->ns.run({"ip", "addr", "add", end->address, "dev", end->interface});
        end->ns.run({"ip", "link", "set", end->interface, "up"});
    }
}

std::map<std::string, std::int64_t> read_counters(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::map<std::string, std::int64_t> counters;
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        std::istringstream n(names), v(values);
        std::string group, name, value;
        n >> group;
        v >> value;  // the same group name again
        group.pop_back();  // its ':'
        while (n >> name && v >> value) counters[group + "." + name] = std::stoll(value);
    }
    return counters;
}

std::int64_t received_packets(const NetworkNamespace &ns, const std::string &interface) {
    std::ifstream in(ns.proc_net("dev"));
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::istringstream name(line.substr(0, colon));
        std::string word;
        name >> word;
        if (word != interface) continue;
        std::istringstream fields(line.substr(colon + 1));
        std::int64_t bytes = 0, packets = 0;
        fields >> bytes >> packets;
        return packets;
    }
    throw std::runtime_error("no interface " + interface + " in " + ns.proc_net("dev"));
}

std::int64_t syn_queue_entries(const NetworkNamespace &ns, int port, std::uint32_t network, int length) {
    std::ifstream in(ns.proc_net("tcp"));
    if (!in) throw std::runtime_error("cannot read " + ns.proc_net("tcp"));
    const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t(0) << (32 - length);
    const int syn_recv = 3;
    std::int64_t count = 0;
    std::string line;
    std::getline(in, line);  // the heading
    while (std::getline(in, line)) {
        // "  0: 010200C0:1092 820200C0:D431 03 ...": addresses as the kernel
        // stores them (network order, printed as a native integer), ports in
        // host order.
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (local.size() < 6 || remote.size() < 10) continue;
        if (std::stoi(state, nullptr, 16) != syn_recv) continue;
        if (std::stoi(local.substr(local.find(':') + 1), nullptr, 16) != port) continue;
        auto stored = static_cast<std::uint32_t>(std::stoul(remote.substr(0, 8), nullptr, 16));
        if ((ntohl(stored) & mask) == (network & mask)) ++count;
    }
    return count;
}

void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fail_errno("pin to CPU " + std::to_string(cpu));
}

}  // namespace flood
