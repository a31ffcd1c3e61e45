// The service's sockets: what to listen on, creating them unbound, attaching
// the filter, and only then binding (no unfiltered window).
#pragma once

#include "unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alf {

enum class Transport { tcp, udp };

struct ListenSpec {
    Transport transport = Transport::tcp;
    std::string address = "::";  // numeric IPv4 or IPv6
    std::uint16_t port = 4242;
    std::string name;            // for LISTEN_FDNAMES; empty: derived
    int backlog = 4096;
    std::string text;            // as the user wrote it, for messages
};

struct Socket {
    UniqueFd fd;
    std::string name;         // LISTEN_FDNAMES entry
    std::string description;  // "tcp [::]:4242"
    int family = 0;
    int type = 0;
};

// The seed's --address/--port/--type form.
ListenSpec seed_listen_spec(const std::string &address, const std::string &port, const std::string &type);

// A new socket, CLOEXEC, not yet bound.
Socket create_socket(const ListenSpec &spec);

// SO_ATTACH_BPF then SO_LOCK_FILTER: the service cannot remove or replace it.
void attach_locked(const Socket &socket, int program_fd);

// What an attached filter costs a socket: the kernel charges its size
// (struct sk_filter and the translated program) to the socket's option
// memory, limited by net.core.optmem_max, when it is attached and again for
// every socket accepted from a listener that has it (a child that cannot be
// charged is dropped).
struct FilterCharge {
    std::uint32_t bytes = 0;       // charged on attach (0 when it did not fit)
    std::uint32_t optmem_max = 0;  // the limit, in this network namespace
    bool fits = false;
};

// Attaches the program to a fresh, unbound socket and measures the charge
// (SO_MEMINFO); the socket is closed again.
FilterCharge measure_filter_charge(int program_fd);

// net.core.optmem_max of the current network namespace; 0 if unknown.
std::uint32_t read_optmem_max();

// Binds, and for streams listens.
void bind_and_listen(Socket &socket, const ListenSpec &spec);

}  // namespace alf
