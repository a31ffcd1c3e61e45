// A socket that systemd keeps across a restart (or a crash) of its service
// still carries the locked filter of the earlier run: it cannot be replaced,
// only kept. The earlier alfwrapper's filter is found by the metadata it
// carries (bpf/program_metadata.hpp); when this run builds the same program
// (the same tag) it keeps it, and takes over its maps so that the new
// command line's entries and rules are what it judges by.
#pragma once

#include "bpf/program_metadata.hpp"
#include "common/unique_fd.hpp"
#include "launch/sockets.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace alf {

struct KeptFilter {
    std::optional<RunningFilter> running;     // empty: no socket carries a filter yet
    std::set<std::uint64_t> socket_inodes;    // the sockets that keep it
    std::map<std::string, UniqueFd> maps;     // its maps, by name, for the new object to take over
    UniqueFd program;                         // the running program

    // A map taken over, or -1.
    int map_fd(const std::string &name) const;

    bool keeps(const Socket &socket) const;
};

// Looks at every inherited socket: one with a locked filter must carry the
// filter of an earlier alfwrapper (all of them the same one). Throws Error
// naming the socket and the way out (restart the socket unit) otherwise.
KeptFilter find_kept_filter(const std::vector<Socket> &sockets);

std::uint64_t socket_inode(const Socket &socket);

// What alfctl finds later: `program_fd` (when it was attached to any socket)
// gets metadata naming those sockets; a kept filter's record is rewritten
// with this run's name and pid, which the service keeps.
void record_filters(int program_fd, const KeptFilter &kept, const std::vector<Socket> &sockets,
                    const FilterMetadata &base);

}  // namespace alf
