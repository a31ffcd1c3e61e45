// A test service: makes one listening TCP socket of another process receive
// a whole range of ports, the way a multi-port service is set up with an
// sk_lookup program. Run it inside the network namespace to steer (the
// program is attached to the current one); it prints "ready" and keeps the
// program attached until its standard input closes.
//
//   port_steer PID FD FIRST LAST
//
// PID's file descriptor FD (taken with pidfd_getfd) receives the connections
// to ports FIRST..LAST of every local address.
#include "bpf/bpf_insn.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string &what, int err) {
    std::fprintf(stderr, "port_steer: %s: %s\n", what.c_str(), std::strerror(err));
    std::exit(1);
}

using namespace alf::insn;

constexpr int r0 = 0, r1 = 1, r2 = 2, r3 = 3, r6 = 6, r7 = 7, r10 = 10;
constexpr int local_port_offset = 60;  // struct bpf_sk_lookup, host order
constexpr int sk_pass = 1;

// if FIRST <= local_port <= LAST: assign the socket in sockmap[0].
std::vector<bpf_insn> steering_program(int sockmap_fd, int first, int last) {
    std::vector<bpf_insn> p = {
        mov_reg(r6, r1),
        load_u32(r2, r6, local_port_offset),
        jump_imm(BPF_JLT, r2, first, 0),  // offsets patched below
        jump_imm(BPF_JGT, r2, last, 0),
        store_u32_imm(r10, -4, 0),
        mov_reg(r2, r10),
        add_imm(r2, -4),
        make(BPF_LD | BPF_DW | BPF_IMM, r1, BPF_PSEUDO_MAP_FD, 0, sockmap_fd),
        make(0, 0, 0, 0, 0),
        call(BPF_FUNC_map_lookup_elem),
        jump_imm(BPF_JEQ, r0, 0, 0),
        mov_reg(r7, r0),
        mov_reg(r1, r6),
        mov_reg(r2, r7),
        mov_imm(r3, 0),
        call(BPF_FUNC_sk_assign),
        mov_reg(r1, r7),
        call(BPF_FUNC_sk_release),
        mov_imm(r0, sk_pass),
        exit_insn(),
    };
    const int out = static_cast<int>(p.size()) - 2;
    for (int i : {2, 3, 10}) p[i].off = static_cast<std::int16_t>(out - i - 1);
    return p;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: port_steer PID FD FIRST LAST\n");
        return 2;
    }
    int pid = std::atoi(argv[1]), target_fd = std::atoi(argv[2]);
    int first = std::atoi(argv[3]), last = std::atoi(argv[4]);

    // Raw system calls: Debian 12's <sys/pidfd.h> lacks extern "C".
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) fail("pidfd_open " + std::string(argv[1]), errno);
    int sock = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target_fd, 0));
    if (sock < 0) fail("pidfd_getfd " + std::string(argv[2]), errno);

    int sockmap = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "steer", 4, 8, 1, nullptr);
    if (sockmap < 0) fail("sockmap", errno);
    std::uint32_t key = 0;
    std::uint64_t value = static_cast<std::uint64_t>(sock);
    if (bpf_map_update_elem(sockmap, &key, &value, BPF_ANY) != 0) fail("sockmap update", errno);

    auto program = steering_program(sockmap, first, last);
    std::vector<char> log(65536);
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP, .log_level = 1,
                .log_size = static_cast<__u32>(log.size()), .log_buf = log.data());
    int prog = bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, "steer", "Dual BSD/GPL", program.data(), program.size(), &opts);
    if (prog < 0) {
        std::fprintf(stderr, "%s\n", log.data());
        fail("sk_lookup program", errno);
    }
    int netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (netns < 0) fail("/proc/self/ns/net", errno);
    int link = bpf_link_create(prog, netns, BPF_SK_LOOKUP, nullptr);
    if (link < 0) fail("attach to the network namespace", errno);

    std::puts("ready");
    std::fflush(stdout);
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    return 0;
}
