// What reached an inherited socket before the filter was attached: judged by
// the filter now, never served unjudged. Queued TCP connections are found
// with sock_diag (established, on the listener's port, held by no process
// yet), each peer is run through the filter, and only the refused ones are
// destroyed (SOCK_DESTROY, as `ss -K` does): admitted ones stay queued for
// the service. Queued datagrams are read and judged (the kernel cannot
// requeue them, so the admitted ones are lost too, and counted).
#pragma once

#include "common/net_address.hpp"
#include "launch/sockets.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace alf {

// A packet of a peer as the socket's filter would see it (IPv4 clients of a
// dual-stack socket as IPv4).
struct PeerPacket {
    int protocol = 0;  // IPPROTO_TCP (a SYN) or IPPROTO_UDP
    IpAddress peer, local;
    std::uint16_t peer_port = 0, local_port = 0;
    std::size_t payload = 0;  // UDP: the datagram's length
};

// Whether the attached filter admits the packet.
using PeerJudge = std::function<bool(const PeerPacket &)>;

struct BacklogVerdicts {
    std::size_t admitted = 0;   // TCP: left queued for the service; UDP: judged, then discarded
    std::size_t refused = 0;    // TCP: destroyed; UDP: discarded
    std::size_t reset = 0;      // TCP: admitted but reset (judging impossible, or ahead of a refused one with data)
    std::string why_reset;      // and why
};

BacklogVerdicts judge_backlog(const Socket &socket, const PeerJudge &judge);

}  // namespace alf
