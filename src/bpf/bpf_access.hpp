// Who may load what: the privileges the running tool holds and where they
// came from, and the kernel's restrictions for everyone else.
//
// Measured on Linux 6.18: without CAP_BPF no eBPF program or map loads
// (kernel.unprivileged_bpf_disabled, 2 by default since 5.16); a classic
// filter attaches without privileges to UDP and Unix sockets, but on TCP
// sockets only with CAP_NET_ADMIN (Linux commit 5d39580f68e6, also in the
// 6.1, 6.12 and 7.0 stable lines). CAP_BPF alone loads the built-in filters
// and attaches them to TCP and UDP sockets.
#pragma once

#include "common/capabilities.hpp"

#include <string>

namespace alf {

enum class Privilege {
    root,               // effective uid 0
    own_capabilities,   // the caller's (ambient: a unit's AmbientCapabilities=CAP_BPF)
    delegated,          // from the tool's file (setcap cap_bpf+ep), not from the caller
    none,
};

struct BpfAccess {
    std::string tool = "alfwrapper";     // the running tool, as messages name it
    Privilege privilege = Privilege::none;
    Capabilities capabilities;
    bool may_load_ebpf = false;          // the kernel loaded a minimal socket filter
    int ebpf_errno = 0;                  // why it did not
    bool seccomp_filtered = false;       // and a seccomp filter is installed (it may block bpf())
    int unprivileged_bpf_disabled = -1;  // the sysctl; -1 when unreadable
    std::string executable;              // the tool's own file, for the setcap line

    bool delegated() const { return privilege == Privilege::delegated; }
};

// Throws Error when the tool runs set-user-ID or set-group-ID, or when its
// file grants capabilities beyond CAP_BPF: a caller could use them through it.
BpfAccess assess_bpf_access(const std::string &tool);

// Why eBPF cannot be loaded here, as the kernel sees it.
std::string ebpf_restriction(const BpfAccess &access);

// "setcap cap_bpf+ep /usr/bin/alfwrapper": how root delegates CAP_BPF to the tool.
std::string setcap_line(const BpfAccess &access);

// What to say when the kernel refuses a classic filter on a TCP socket and
// eBPF cannot be loaded either (else the tool loads the classic program's
// eBPF translation): the restriction, its capability and the ways out.
std::string classic_on_tcp_refused(const BpfAccess &access);

}  // namespace alf
