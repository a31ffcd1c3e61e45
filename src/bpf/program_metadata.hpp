// What a running filter says about itself, found in the kernel: every filter
// alfwrapper attaches carries a small map named "alf_meta" bound to its
// program (BPF_PROG_BIND_MAP) holding JSON: the service's name and pid, the
// filter, the back end, and the sockets (by inode) it was attached to.
// Nothing is kept on disk: when the sockets and the program are gone, so is
// the record. Finding programs by id needs root (CAP_SYS_ADMIN and CAP_BPF).
#pragma once

#include "common/unique_fd.hpp"

#include <bpf/bpf.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace alf {

struct SocketRecord {
    std::uint64_t inode = 0;
    std::string description;  // "tcp [::]:4242"
};

struct FilterMetadata {
    std::string name;    // --name: how alfctl knows the service
    long pid = 0;        // alfwrapper's, which the service keeps (exec in place)
    std::string filter;  // "subnets", "filters/x.c"
    std::string backend = "eBPF";
    std::vector<SocketRecord> sockets;
    std::int64_t loaded_at = 0;  // seconds since the epoch
    std::string version;
    std::uint64_t pid_namespace = 0;  // its inode: the service's container (0: not recorded)
    // The filter's maps as the kernel names them, with their ids: a verb
    // on one service opens only the maps it needs (records written by
    // earlier versions have none; their maps are then listed from the
    // kernel). Filled by attach_metadata() when left empty.
    std::vector<std::pair<std::string, std::uint32_t>> maps;
};

// The inode of this process's pid namespace (/proc/self/ns/pid), 0 when
// it cannot be read: what tells one container's services from another's.
std::uint64_t own_pid_namespace();

// Whether the filter's service runs in this process's pid namespace (or
// recorded none): the services alfctl shows and acts on.
bool in_own_pid_namespace(const FilterMetadata &metadata);

using ProgramTag = std::array<std::uint8_t, 8>;

// Creates the metadata map, writes `metadata` and binds the map to the
// program, so that it lives exactly as long as the program. Throws Error.
void attach_metadata(int program_fd, const FilterMetadata &metadata);

struct RunningFilter {
    std::uint32_t program_id = 0;
    ProgramTag tag{};
    FilterMetadata metadata;
    std::vector<std::pair<std::string, std::uint32_t>> maps;  // name, id (alf_meta left out; empty when not wanted)
    std::uint32_t metadata_map_id = 0;
};

// A map a program uses or has bound (BPF_PROG_BIND_MAP), opened.
struct BoundMap {
    std::uint32_t id = 0;
    UniqueFd fd;
    bpf_map_info info{};
};

// The maps of a program. Throws Error when the program's info cannot be read.
std::vector<BoundMap> program_maps(int program_fd);

// Every loaded program that carries alfwrapper's metadata. Throws Error
// (exit status 2) when programs cannot be listed (needs CAP_SYS_ADMIN).
// With `wanted`, only the filters it accepts have their maps listed: the
// others' maps are not opened (a verb on one service pays for that one).
std::vector<RunningFilter> find_running_filters(const std::function<bool(const FilterMetadata &)> &wanted = nullptr);

// The filter whose metadata names the socket with this inode, if any.
std::optional<RunningFilter> find_filter_of_socket(std::uint64_t inode);

// Rewrites the metadata of a running filter (a later alfwrapper that kept it).
void update_metadata(const RunningFilter &filter, const FilterMetadata &metadata);

// The program's tag: the kernel's hash of its instructions (map references
// left out), equal for the same program loaded twice.
ProgramTag program_tag(int program_fd);

std::string format_tag(const ProgramTag &tag);

}  // namespace alf
