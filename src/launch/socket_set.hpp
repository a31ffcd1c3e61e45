// The service's sockets as one set: the ones inherited and the ones to
// create, opened in hand-off order, then each given the filter before it is
// bound (no unfiltered window).
#pragma once

#include "common/report.hpp"
#include "launch/backlog.hpp"
#include "launch/sockets.hpp"

#include <functional>
#include <string>
#include <vector>

namespace alf {

struct SocketSettings {
    std::string address = "::";          // --address, --port, --type: the seed form's socket
    std::string port = "4242";
    std::string type = "SOCK_STREAM";
    bool seed_socket = false;            // --address, --port or --type given
    std::vector<std::string> listens;    // --listen SPEC, in order
    bool inherit = false;                // --inherit: LISTEN_FDS first
    std::vector<std::string> fdnames;    // --fdname NAME[:NAME...]
};

// Inherited sockets first, then the seed form's socket (when asked for, or
// when nothing else is), then --listen's, in order; created unbound.
std::vector<Socket> open_sockets(const SocketSettings &settings);

// The transport protocol (IPPROTO_TCP, ...) every socket has, or 0 when
// they differ or one has none (a Unix socket).
int common_protocol(const std::vector<Socket> &sockets);

// Attaches and locks a filter on every socket (`attach`), then binds the ones
// created here; what reached an inherited socket before is judged by `judge`
// (the attached filter run on the peer's packet): see launch/backlog.hpp.
void attach_all(std::vector<Socket> &sockets, const Reporter &report,
                const std::function<void(const Socket &)> &attach, const PeerJudge &judge);

}  // namespace alf
