#include "pipeline/kept_filter.hpp"

#include "common/error.hpp"
#include "common/service_name.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

namespace alf {

namespace {

bool carries_locked_filter(const Socket &socket) {
    int locked = 0;
    socklen_t size = sizeof locked;
    return getsockopt(socket.fd.get(), SOL_SOCKET, SO_LOCK_FILTER, &locked, &size) == 0 && locked;
}

std::string restart_the_socket() {
    return "a socket takes one locked filter for its lifetime: restart the socket unit so that systemd creates it "
           "anew (" + restart_socket_command() + ")";
}

}  // namespace

int KeptFilter::map_fd(const std::string &name) const {
    auto found = maps.find(name);
    return found == maps.end() ? -1 : found->second.get();
}

bool KeptFilter::keeps(const Socket &socket) const { return socket_inodes.count(socket_inode(socket)) > 0; }

std::uint64_t socket_inode(const Socket &socket) {
    struct stat st;
    if (fstat(socket.fd.get(), &st) != 0) throw system_error(socket.description + ": fstat", errno);
    return st.st_ino;
}

void record_filters(int program_fd, const KeptFilter &kept, const std::vector<Socket> &sockets,
                    const FilterMetadata &base) {
    FilterMetadata fresh = base, kept_record = base;
    for (const auto &socket : sockets)
        (kept.keeps(socket) ? kept_record : fresh).sockets.push_back({socket_inode(socket), socket.description});
    if (!fresh.sockets.empty()) attach_metadata(program_fd, fresh);
    if (kept.running) {
        kept_record.loaded_at = kept.running->metadata.loaded_at;
        kept_record.maps = kept.running->maps;
        update_metadata(*kept.running, kept_record);
    }
}

KeptFilter find_kept_filter(const std::vector<Socket> &sockets) {
    KeptFilter kept;
    std::optional<std::vector<RunningFilter>> running;
    for (const auto &socket : sockets) {
        if (!socket.inherited() || !carries_locked_filter(socket)) continue;
        if (!running) {
            try {
                running = find_running_filters();
            } catch (const Error &e) {
                throw Error(socket.description + ": the socket already carries a locked filter, and the filter that "
                            "carries it cannot be looked up (" + e.what() + "); " + restart_the_socket(),
                            exit_system);
            }
        }
        std::uint64_t inode = socket_inode(socket);
        const RunningFilter *found = nullptr;
        for (const auto &filter : *running)
            for (const auto &record : filter.metadata.sockets)
                if (record.inode == inode) found = &filter;
        if (!found)
            throw Error(socket.description + ": the socket already carries a locked filter that no alfwrapper "
                        "attached (or one from before this version); " + restart_the_socket(), exit_system);
        if (kept.running && kept.running->program_id != found->program_id)
            throw Error(socket.description + ": the inherited sockets carry the filters of different earlier runs; " +
                        restart_the_socket(), exit_system);
        kept.running = *found;
        kept.socket_inodes.insert(inode);
    }
    if (kept.running) {
        kept.program = UniqueFd(bpf_prog_get_fd_by_id(kept.running->program_id));
        if (!kept.program) throw system_error("the running filter's program is gone", errno);
    }
    if (kept.running)
        for (const auto &[name, id] : kept.running->maps) {
            UniqueFd fd(bpf_map_get_fd_by_id(id));
            if (!fd) throw system_error("the running filter's map " + name + " is gone", errno);
            kept.maps.emplace(name, std::move(fd));
        }
    return kept;
}

}  // namespace alf
