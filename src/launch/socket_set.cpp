#include "launch/socket_set.hpp"

#include "launch/inherit.hpp"
#include "launch/listen_spec.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace alf {

std::vector<Socket> open_sockets(const SocketSettings &settings) {
    std::vector<Socket> sockets;
    if (settings.inherit) sockets = inherit_sockets();
    std::vector<ListenSpec> specs;
    if (settings.seed_socket || (settings.listens.empty() && !settings.inherit))
        specs.push_back(seed_listen_spec(settings.address, settings.port, settings.type));
    for (const auto &text : settings.listens) specs.push_back(parse_listen_spec(text));
    apply_fd_names(specs, parse_fd_names(settings.fdnames));
    for (const auto &spec : specs) sockets.push_back(create_socket(spec));
    return sockets;
}

namespace {

// What the filter made of the traffic queued on an inherited socket before it.
void report_backlog(const Socket &socket, const BacklogVerdicts &v, const Reporter &report) {
    if (v.reset && v.admitted + v.refused == 0) {
        report.warning(socket.description + ": " + std::to_string(v.reset) +
                       " connection(s) that arrived before the filter was attached reset unjudged: " + v.why_reset);
    } else if (socket.type == SOCK_DGRAM && v.admitted + v.refused) {
        report.warning(socket.description + ": " + std::to_string(v.admitted + v.refused) +
                       " datagram(s) queued before the filter: " + std::to_string(v.refused) + " refused by it, " +
                       std::to_string(v.admitted) + " admitted but discarded (a datagram cannot be queued again)");
    } else if (v.admitted + v.refused) {
        std::string text = socket.description + ": " + std::to_string(v.admitted + v.refused + v.reset) +
                           " connection(s) queued before the filter: " + std::to_string(v.admitted) +
                           " admitted and left for the service, " + std::to_string(v.refused) +
                           " refused and destroyed";
        if (v.reset) text += "; " + std::to_string(v.reset) + " admitted one(s) reset: " + v.why_reset;
        if (v.refused) report.warning(text);
        else report.info(text);
    }
}

}  // namespace

void attach_all(std::vector<Socket> &sockets, const Reporter &report,
                const std::function<void(const Socket &)> &attach, const PeerJudge &judge) {
    // A socket file made for a service that will not start is removed again.
    std::vector<std::string> files_made;
    auto remove_files_made = [&] {
        for (const auto &path : files_made) ::unlink(path.c_str());
    };
    for (auto &socket : sockets) {
        try {
            attach(socket);
            if (!socket.inherited()) {
                bind_and_listen(socket);
                if (!socket.unix_path.empty()) files_made.push_back(socket.unix_path);
            }
        } catch (...) {
            remove_files_made();
            throw;
        }
        if (socket.inherited()) report_backlog(socket, judge_backlog(socket, judge), report);
        report.info(socket.description + ": filter attached and locked");
        // Attached, but never run: the user should not believe this socket filtered.
        if (socket.family == AF_UNIX && socket.type != SOCK_DGRAM)
            report.warning(socket.description + ": the kernel runs no socket filter on Unix stream connections; "
                           "only the socket file's mode (mode=0660) guards who connects");
    }
}

int common_protocol(const std::vector<Socket> &sockets) {
    int common = 0;
    for (const auto &socket : sockets) {
        int protocol = 0;
        socklen_t length = sizeof protocol;
        if (getsockopt(socket.fd.get(), SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0 || protocol == 0 ||
            (common != 0 && protocol != common))
            return 0;
        common = protocol;
    }
    return common;
}

}  // namespace alf
