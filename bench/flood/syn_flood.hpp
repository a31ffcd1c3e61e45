// A SYN flood from a raw socket: TCP SYNs from many forged sources, as fast
// as one thread can send them, never completing a handshake.
#pragma once

#include <atomic>
#include <exception>
#include <cstdint>
#include <thread>

#include "namespaces.hpp"

namespace flood {

struct FloodTarget {
    std::uint32_t destination;  // host byte order
    int port;
    std::uint32_t source_network;  // host byte order; the sources are random inside it
    int source_length;
};

// Floods from its own thread, inside `ns`, pinned to `cpu`, from start to stop.
class SynFlood {
public:
    SynFlood(const NetworkNamespace &ns, int cpu, const FloodTarget &target);
    ~SynFlood();
    SynFlood(const SynFlood &) = delete;
    SynFlood &operator=(const SynFlood &) = delete;

    // The SYNs the kernel took from the raw socket; throws what the thread failed with.
    std::int64_t stop();
    // The flooding thread's own CPU time (after stop): without the receive
    // work done in softirq context, which the kernel accounts apart.
    double thread_cpu_seconds() const { return cpu_seconds_; }

private:
    void send_until_stopped(const NetworkNamespace &ns, int cpu, FloodTarget target);

    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> sent_{0};
    double cpu_seconds_ = 0;
    std::exception_ptr failure_;
    std::thread thread_;
};

}  // namespace flood
