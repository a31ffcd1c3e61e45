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

void attach_all(std::vector<Socket> &sockets, const Reporter &report,
                const std::function<void(const Socket &)> &attach) {
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
        if (socket.inherited()) {
            if (auto discarded = discard_unfiltered_backlog(socket))
                report.warning(socket.description + ": " + std::to_string(discarded) +
                               (socket.type == SOCK_DGRAM ? " datagram(s) discarded" : " connection(s) reset") +
                               ": they arrived before the filter was attached");
        }
        report.info(socket.description + ": filter attached and locked");
        // Attached, but never run: the user should not believe this socket filtered.
        if (socket.family == AF_UNIX && socket.type != SOCK_DGRAM)
            report.warning(socket.description + ": the kernel runs no socket filter on Unix stream connections; "
                           "only the socket file's mode (mode=0660) guards who connects");
    }
}

}  // namespace alf
