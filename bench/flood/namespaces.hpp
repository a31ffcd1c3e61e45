// Network namespaces of the benchmark's own, joined by veth pairs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flood {

// A network namespace held by a child process that only waits: it disappears
// with that child, and the child dies with the benchmark (PR_SET_PDEATHSIG),
// so nothing is left behind after a crash and nothing is ever created in the
// host's namespace or named in /run/netns.
class NetworkNamespace {
public:
    NetworkNamespace();  // a new namespace, loopback up
    ~NetworkNamespace();
    NetworkNamespace(const NetworkNamespace &) = delete;
    NetworkNamespace &operator=(const NetworkNamespace &) = delete;

    pid_t holder() const { return holder_; }
    int fd() const { return fd_; }

    // Runs a command (ip, sysctl) inside; throws when it fails.
    void run(const std::vector<std::string> &argv) const;
    // Moves the calling thread, and only it, into the namespace.
    void enter_this_thread() const;
    // A file of the namespace's /proc/net (netstat, snmp, dev, tcp).
    std::string proc_net(const std::string &name) const;

private:
    pid_t holder_ = -1;
    int fd_ = -1;
};

// One end of a veth pair: its namespace, interface name and address/length.
struct VethEnd {
    const NetworkNamespace &ns;
    std::string interface, address;
};

// Creates the pair inside a's namespace with b's end moved to b's, addresses
// both ends and brings them up.
void connect_veth(const VethEnd &a, const VethEnd &b);

// Named counters of a /proc/net file in the "Name: key key ...\nName: value
// value ..." form (netstat, snmp), as "TcpExt.SyncookiesSent".
std::map<std::string, std::int64_t> read_counters(const std::string &path);

// Received packets of an interface, from a namespace's /proc/net/dev.
std::int64_t received_packets(const NetworkNamespace &ns, const std::string &interface);

// Request sockets (SYN_RECV) waiting on local `port` whose peer is inside
// `network`/`length` (host byte order), from a namespace's /proc/net/tcp.
std::int64_t syn_queue_entries(const NetworkNamespace &ns, int port, std::uint32_t network, int length);

// Pins the calling thread (or, before an exec, the process) to one CPU.
void pin_to_cpu(int cpu);

}  // namespace flood
