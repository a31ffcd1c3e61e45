// Who may load what: the privileges alfwrapper runs with and where they came
// from, the kernel's restrictions for everyone else, the choice between the
// eBPF and the classic BPF back end, and the messages when neither will do.
//
// Measured on Linux 6.18: without CAP_BPF no eBPF program or map loads
// (kernel.unprivileged_bpf_disabled, 2 by default since 5.16); a classic
// filter attaches without privileges to UDP and Unix sockets, but on TCP
// sockets only with CAP_NET_ADMIN (Linux commit 5d39580f68e6, also in the
// 6.1, 6.12 and 7.0 stable lines). CAP_BPF alone loads the built-in filters
// and attaches them to TCP and UDP sockets.
#pragma once

#include "privileges.hpp"

#include <functional>
#include <string>

namespace alf {

struct Options;

enum class Privilege {
    root,               // effective uid 0
    own_capabilities,   // the caller's (ambient: a unit's AmbientCapabilities=CAP_BPF)
    delegated,          // from alfwrapper's file (setcap cap_bpf+ep), not from the caller
    none,
};

struct BpfAccess {
    Privilege privilege = Privilege::none;
    Capabilities capabilities;
    bool may_load_ebpf = false;          // the kernel loaded a minimal socket filter
    int ebpf_errno = 0;                  // why it did not
    int unprivileged_bpf_disabled = -1;  // the sysctl; -1 when unreadable
    std::string executable;              // alfwrapper's own file, for the setcap line

    bool delegated() const { return privilege == Privilege::delegated; }
};

// Throws Error when alfwrapper runs set-user-ID or set-group-ID, or when its
// file grants capabilities beyond CAP_BPF: a caller could use them through it.
BpfAccess assess_bpf_access();

// With delegated privileges alfwrapper loads only trusted programs: the
// built-in filters compiled when it was built. Throws Error, saying why,
// for a C source or object, -D, -I, -u and -g.
void require_trusted_inputs(const Options &options, const BpfAccess &access);

enum class Backend { ebpf, classic };

// --ebpf, --classic, or what the situation allows: eBPF when it may be
// loaded, otherwise classic BPF for a rule set (which datagram and Unix
// sockets take without privileges). `say` gets the choice and the reason.
// Throws Error naming the restriction and the ways out when nothing will do.
Backend choose_backend(const Options &options, const BpfAccess &access,
                       const std::function<void(const std::string &)> &say);

// What to say when the kernel refuses a classic filter on a TCP socket:
// the restriction, its capability and the ways out.
std::string classic_on_tcp_refused(const BpfAccess &access);

}  // namespace alf
