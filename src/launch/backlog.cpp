#include "launch/backlog.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace alf {

namespace {

// Bounded: what keeps arriving now has passed the filter.
constexpr std::size_t backlog_max = 65536;

bool readable_now(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

IpAddress address_of(int family, const std::uint32_t words[4]) {
    IpAddress address;
    address.family = family == AF_INET ? Family::ipv4 : Family::ipv6;
    std::memcpy(address.bytes.data(), words, family == AF_INET ? 4 : 16);
    return address;
}

// "::ffff:192.0.2.7" is how a dual-stack socket names an IPv4 peer; the
// filter sees its packets as IPv4.
IpAddress unmapped(IpAddress address) {
    static const std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (address.family != Family::ipv6 || std::memcmp(address.bytes.data(), prefix, 12) != 0) return address;
    IpAddress v4;
    v4.family = Family::ipv4;
    std::memcpy(v4.bytes.data(), address.bytes.data() + 12, 4);
    return v4;
}

IpAddress wildcard_of(Family family) {
    IpAddress address;
    address.family = family;
    return address;
}

bool is_wildcard(const IpAddress &address) {
    for (std::size_t i = 0; i < (address.family == Family::ipv4 ? 4u : 16u); ++i)
        if (address.bytes[i]) return false;
    return true;
}

struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;
};

Endpoint endpoint_of(const sockaddr_storage &storage) {
    Endpoint e;
    if (storage.ss_family == AF_INET) {
        const auto &in = reinterpret_cast<const sockaddr_in &>(storage);
        e.address.family = Family::ipv4;
        std::memcpy(e.address.bytes.data(), &in.sin_addr, 4);
        e.port = ntohs(in.sin_port);
    } else if (storage.ss_family == AF_INET6) {
        const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(storage);
        e.address.family = Family::ipv6;
        std::memcpy(e.address.bytes.data(), &in6.sin6_addr, 16);
        e.port = ntohs(in6.sin6_port);
    }
    return e;
}

Endpoint local_endpoint(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        throw system_error("getsockname", errno);
    return endpoint_of(storage);
}

struct DiagRequest {
    nlmsghdr header;
    inet_diag_req_v2 request;
};

// One queued connection as sock_diag names it (the id, cookie included, is
// what SOCK_DESTROY takes).
struct QueuedConnection {
    int family = 0;
    inet_diag_sockid id{};
    Endpoint peer, local;
    std::uint32_t queued_bytes = 0;  // what the peer sent that waits to be read
};

class SockDiag {
public:
    SockDiag() : fd_(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
        if (!fd_) throw system_error("sock_diag", errno);
    }

    // Established TCP sockets of `family` on `listener`'s port that no
    // process holds yet (inode 0): the listener's accept queue.
    std::vector<QueuedConnection> queued(int family, const Endpoint &listener) {
        DiagRequest message{};
        message.header.nlmsg_len = sizeof message;
        message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        message.request.sdiag_family = static_cast<std::uint8_t>(family);
        message.request.sdiag_protocol = IPPROTO_TCP;
        message.request.idiag_states = (1u << TCP_ESTABLISHED) | (1u << TCP_CLOSE_WAIT);
        send(message);
        std::vector<QueuedConnection> found;
        std::vector<char> buffer(1 << 16);
        for (;;) {
            ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw system_error("sock_diag: reading the sockets", errno);
            int left = static_cast<int>(n);
            for (auto *h = reinterpret_cast<nlmsghdr *>(buffer.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
                if (h->nlmsg_type == NLMSG_DONE) return found;
                if (h->nlmsg_type == NLMSG_ERROR) {
                    int err = -reinterpret_cast<nlmsgerr *>(NLMSG_DATA(h))->error;
                    throw system_error("sock_diag: listing the sockets", err);
                }
                const auto *msg = reinterpret_cast<const inet_diag_msg *>(NLMSG_DATA(h));
                QueuedConnection c;
                c.family = msg->idiag_family;
                c.id = msg->id;
                c.local = {address_of(c.family, msg->id.idiag_src), ntohs(msg->id.idiag_sport)};
                c.peer = {address_of(c.family, msg->id.idiag_dst), ntohs(msg->id.idiag_dport)};
                c.queued_bytes = msg->idiag_rqueue;
                bool same_address = is_wildcard(listener.address) ||
                                    unmapped(c.local.address) == unmapped(listener.address);
                if (msg->idiag_inode == 0 && c.local.port == listener.port && same_address) found.push_back(c);
            }
        }
    }

    // Destroys one socket; the errno when the kernel would not.
    int destroy(const QueuedConnection &connection) {
        DiagRequest message{};
        message.header.nlmsg_len = sizeof message;
        message.header.nlmsg_type = SOCK_DESTROY;
        message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        message.request.sdiag_family = static_cast<std::uint8_t>(connection.family);
        message.request.sdiag_protocol = IPPROTO_TCP;
        message.request.idiag_states = ~0u;
        message.request.id = connection.id;
        send(message);
        char buffer[256];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno;
            auto *h = reinterpret_cast<nlmsghdr *>(buffer);
            if (h->nlmsg_type == NLMSG_ERROR) return -reinterpret_cast<nlmsgerr *>(NLMSG_DATA(h))->error;
        }
    }

private:
    void send(const DiagRequest &message) {
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        if (::sendto(fd_.get(), &message, sizeof message, 0, reinterpret_cast<const sockaddr *>(&kernel),
                     sizeof kernel) < 0)
            throw system_error("sock_diag", errno);
    }
    UniqueFd fd_;
};


// Accepts queued connections and resets them (the peer learns at once),
// each peer shown to `seen`, until `seen` says enough or the queue is empty.
// Returns how many were reset.
template <typename Seen>
std::size_t accept_and_reset(const Socket &socket, Seen seen) {
    int fd = socket.fd.get();
    std::size_t reset = 0;
    while (reset < backlog_max && readable_now(fd)) {
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        UniqueFd connection(accept4(fd, reinterpret_cast<sockaddr *>(&from), &length, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!connection) {
            if (errno == ECONNABORTED) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            throw system_error(socket.description + ": cannot reset connections made before the filter", errno);
        }
        linger abort_it{1, 0};
        setsockopt(connection.get(), SOL_SOCKET, SO_LINGER, &abort_it, sizeof abort_it);
        ++reset;
        if (seen(endpoint_of(from))) break;
    }
    return reset;
}

// Where judging is not possible: every queued connection is reset.
std::size_t reset_all(const Socket &socket) {
    return accept_and_reset(socket, [](const Endpoint &) { return false; });
}

// A destroyed connection stays in the accept queue, and bytes its peer sent
// before stay readable by whoever accepts it: such a connection is accepted
// here and reset instead. The queue is first in, first out, so admitted
// connections ahead of it are reset too. Returns how many of those.
std::size_t consume_until_gone(const Socket &socket, std::vector<Endpoint> peers) {
    std::size_t admitted_lost = 0;
    accept_and_reset(socket, [&](const Endpoint &peer) {
        auto it = std::find_if(peers.begin(), peers.end(), [&](const Endpoint &p) {
            return p.port == peer.port && unmapped(p.address) == unmapped(peer.address);
        });
        if (it != peers.end()) peers.erase(it);
        else ++admitted_lost;
        return peers.empty();
    });
    return admitted_lost;
}

BacklogVerdicts judge_connections(const Socket &socket, const PeerJudge &judge) {
    BacklogVerdicts verdicts;
    Endpoint listener = local_endpoint(socket.fd.get());
    std::vector<QueuedConnection> queued;
    std::string failed;
    try {
        SockDiag diag;
        queued = diag.queued(socket.family, listener);
        if (socket.family == AF_INET6 && is_wildcard(listener.address)) {
            auto v4 = diag.queued(AF_INET, listener);
            queued.insert(queued.end(), v4.begin(), v4.end());
        }
        std::vector<Endpoint> to_consume;
        for (const auto &connection : queued) {
            PeerPacket packet{IPPROTO_TCP, unmapped(connection.peer.address), unmapped(connection.local.address),
                              connection.peer.port, connection.local.port, 0};
            if (judge(packet)) {
                ++verdicts.admitted;
                continue;
            }
            ++verdicts.refused;
            if (connection.queued_bytes) {
                to_consume.push_back(connection.peer);
                continue;
            }
            if (int err = diag.destroy(connection); err != 0 && err != ENOENT) {
                failed = std::string("the kernel would not destroy a refused one (SOCK_DESTROY: ") +
                         std::strerror(err) + (err == EOPNOTSUPP ? "; the kernel lacks CONFIG_INET_DIAG_DESTROY" :
                                               err == EPERM     ? "; it needs CAP_NET_ADMIN"
                                                                : "") + ")";
                break;
            }
        }
        if (failed.empty() && !to_consume.empty()) {
            std::size_t lost = consume_until_gone(socket, to_consume);
            verdicts.admitted -= std::min(lost, verdicts.admitted);
            verdicts.reset = lost;
            if (lost) verdicts.why_reset = "accepted to reach a refused connection that had already sent data";
        }
    } catch (const Error &e) {
        failed = std::string("they could not be listed (") + e.what() + ")";
    }
    if (!failed.empty()) {
        verdicts = {};
        verdicts.reset = reset_all(socket);
        verdicts.why_reset = failed;
    }
    return verdicts;
}

BacklogVerdicts judge_datagrams(const Socket &socket, const PeerJudge &judge) {
    BacklogVerdicts verdicts;
    int fd = socket.fd.get();
    Endpoint local = local_endpoint(fd);
    while (verdicts.admitted + verdicts.refused < backlog_max) {
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        char byte;
        ssize_t n = ::recvfrom(fd, &byte, sizeof byte, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr *>(&from),
                               &from_length);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            throw system_error(socket.description + ": cannot judge datagrams queued before the filter", errno);
        }
        Endpoint peer = endpoint_of(from);
        IpAddress peer_address = unmapped(peer.address);
        IpAddress local_address = peer_address.family == local.address.family ? local.address
                                  : is_wildcard(local.address)                 ? wildcard_of(peer_address.family)
                                                                               : unmapped(local.address);
        PeerPacket packet{IPPROTO_UDP, peer_address, local_address, peer.port, local.port,
                          static_cast<std::size_t>(n)};
        if (judge(packet)) ++verdicts.admitted;
        else ++verdicts.refused;
    }
    return verdicts;
}

}  // namespace

BacklogVerdicts judge_backlog(const Socket &socket, const PeerJudge &judge) {
    if (socket.family == AF_UNIX) {
        if (socket.type != SOCK_DGRAM) return {};
        // No address a filter could judge a Unix peer by: what came before is dropped.
        BacklogVerdicts verdicts;
        char byte;
        while (verdicts.refused < backlog_max &&
               ::recv(socket.fd.get(), &byte, sizeof byte, MSG_DONTWAIT | MSG_TRUNC) >= 0)
            ++verdicts.refused;
        return verdicts;
    }
    if (socket.type == SOCK_DGRAM) return judge_datagrams(socket, judge);
    if (socket.type == SOCK_STREAM) return judge_connections(socket, judge);
    return {};
}

}  // namespace alf
