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

// Binds, and for streams listens.
void bind_and_listen(Socket &socket, const ListenSpec &spec);

}  // namespace alf
