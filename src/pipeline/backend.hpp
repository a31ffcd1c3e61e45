// Which back end runs the filter, and what a caller with delegated privileges
// may ask for: the decisions that need the whole configuration.
#pragma once

#include "bpf/bpf_access.hpp"
#include "common/report.hpp"
#include "launch/sockets.hpp"
#include "pipeline/configuration.hpp"

namespace alf {

// With delegated privileges the tool loads only trusted programs: the
// built-in filters compiled when it was built. Throws Error, saying why,
// for a C source or object, -D, -I, -u and -g.
void require_trusted_inputs(const Configuration &config, const BpfAccess &access);

enum class Backend { ebpf, classic };

// --ebpf, --classic, or what the situation allows: eBPF when it may be
// loaded, otherwise classic BPF for a rule set (which datagram and Unix
// sockets take without privileges). The choice and its reason are reported
// with -v. Throws Error naming the restriction and the ways out when nothing
// will do.
Backend choose_backend(const Configuration &config, const BpfAccess &access, const Reporter &report);

// Whether the classic program goes onto the sockets as its eBPF translation
// (classic/classic_to_ebpf.hpp): when one of them is a TCP socket, which
// takes a classic filter only from CAP_NET_ADMIN, and eBPF may be loaded
// here (CAP_BPF: a delegated tool). The translation then goes onto every
// socket: one program, judged alike.
bool classic_as_ebpf(const std::vector<Socket> &sockets, const BpfAccess &access);

}  // namespace alf
