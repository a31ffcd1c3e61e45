// The benchmark's service: takes its sockets by socket activation (LISTEN_FDS,
// fds 3..), echoes every TCP connection and answers every UDP datagram.
// The same binary runs with and without alfwrapper in front of it.
//   bench_echod [--peers FILE]   (FILE: one line per accepted TCP peer address)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex peers_mutex;
FILE *peers_file = nullptr;

void log_peer(const sockaddr_storage &ss) {
    if (!peers_file) return;
    char buf[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in &>(ss).sin_addr, buf, sizeof buf);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 &>(ss).sin6_addr, buf, sizeof buf);
    std::lock_guard lock(peers_mutex);
    std::fprintf(peers_file, "%s\n", buf);
    std::fflush(peers_file);
}

void echo_stream(int fd) {
    std::vector<char> buf(1 << 18);
    for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf.data() + off, static_cast<size_t>(n - off));
            if (w <= 0) {
                close(fd);
                return;
            }
            off += w;
        }
    }
    close(fd);
}

void serve_stream(int listener) {
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = accept4(listener, reinterpret_cast<sockaddr *>(&ss), &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            std::perror("bench_echod: accept");
            std::exit(2);
        }
        log_peer(ss);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::thread(echo_stream, fd).detach();
    }
}

void serve_datagram(int fd) {
    char buf[65536];
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&ss), &len);
        if (n < 0) continue;
        sendto(fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr *>(&ss), len);
    }
}

}  // namespace

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--peers") peers_file = std::fopen(argv[++i], "a");
    const char *fds = std::getenv("LISTEN_FDS");
    const char *pid = std::getenv("LISTEN_PID");
    if (!fds || !pid || std::atoi(pid) != getpid()) {
        std::fprintf(stderr, "bench_echod: expects sockets by socket activation (LISTEN_FDS)\n");
        return 2;
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < std::atoi(fds); ++i) {
        int fd = 3 + i, type = 0;
        socklen_t len = sizeof type;
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        threads.emplace_back(type == SOCK_STREAM ? serve_stream : serve_datagram, fd);
    }
    for (auto &t : threads) t.join();
}
