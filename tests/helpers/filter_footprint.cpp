// A test tool: what a filter costs a socket. Loads each BPF object (the
// program named "filter") through the verifier, attaches it to a fresh TCP
// listener on loopback, accepts one connection, and reads the socket option
// memory each socket is charged (SO_MEMINFO), which the kernel checks
// against net.core.optmem_max when a filter is attached or inherited by an
// accepted socket.
//
//   filter_footprint [--markdown] FILE.o...
//
// Prints one JSON object a line (or a Markdown table row with --markdown):
// instructions as compiled, as the kernel keeps them after the verifier
// (what is charged), as the verifier processed them, JIT bytes, the charge on
// the listener and on the accepted socket, and net.core.optmem_max. The
// accepted socket is measured only when the filter admits 127.0.0.1 as it is
// loaded, with its maps empty (otherwise "accepted_charge" is null): the
// kernel charges the accepted socket for the listener's filter by the same
// rule, which the filters that do admit it show.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace {

[[noreturn]] void fail(const std::string &what, int err) {
    std::fprintf(stderr, "filter_footprint: %s: %s\n", what.c_str(), std::strerror(err));
    std::exit(1);
}

long optmem_max() {
    std::ifstream in("/proc/sys/net/core/optmem_max");
    long value = -1;
    in >> value;
    return value;
}

std::uint32_t option_memory(int fd) {
    std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof meminfo;
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) fail("SO_MEMINFO", errno);
    return meminfo[SK_MEMINFO_OPTMEM];
}

struct Charges {
    std::uint32_t listener = 0;
    std::optional<std::uint32_t> accepted;
};

// Option memory of a loopback listener and of a socket it accepted, with
// prog_fd attached to the listener (or nothing attached for -1).
Charges measure(int prog_fd) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) fail("socket", errno);
    if (prog_fd >= 0 && setsockopt(listener, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0)
        fail("SO_ATTACH_BPF", errno);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    if (bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr *>(&address), &len) != 0)
        fail("listen on loopback", errno);
    Charges charges{option_memory(listener), std::nullopt};
    // A filter that drops 127.0.0.1 leaves the connection pending: wait 1 s, no more.
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (client < 0) fail("socket", errno);
    if (connect(client, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 && errno != EINPROGRESS)
        fail("connect", errno);
    pollfd ready{listener, POLLIN, 0};
    if (poll(&ready, 1, 1000) == 1) {
        int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (accepted < 0) fail("accept", errno);
        charges.accepted = option_memory(accepted);
        close(accepted);
    }
    close(client);
    close(listener);
    return charges;
}

std::string base_name(const std::string &path) {
    std::string name = path.substr(path.find_last_of('/') + 1);
    return name.substr(0, name.rfind('.'));
}

}  // namespace

int main(int argc, char **argv) {
    bool markdown = argc > 1 && std::string(argv[1]) == "--markdown";
    if (argc < 2 + (markdown ? 1 : 0)) {
        std::fprintf(stderr, "usage: filter_footprint [--markdown] FILE.o...\n");
        return 2;
    }
    libbpf_set_print(nullptr);
    const long limit = optmem_max();
    const Charges baseline = measure(-1);
    for (int i = markdown ? 2 : 1; i < argc; ++i) {
        bpf_object *object = bpf_object__open_file(argv[i], nullptr);
        if (!object) fail(std::string("open ") + argv[i], errno);
        bpf_program *program = bpf_object__find_program_by_name(object, "filter");
        if (!program) fail(std::string("no program 'filter' in ") + argv[i], ENOENT);
        bpf_program *other;
        bpf_object__for_each_program(other, object) bpf_program__set_autoload(other, other == program);
        if (bpf_object__load(object) != 0) fail(std::string("load ") + argv[i], errno);
        int prog_fd = bpf_program__fd(program);
        bpf_prog_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) fail("program info", errno);
        Charges charges = measure(prog_fd);
        nlohmann::json row = {
            {"filter", base_name(argv[i])},
            {"instructions", bpf_program__insn_cnt(program)},
            {"kernel_instructions", info.xlated_prog_len / 8},
            {"verified_instructions", info.verified_insns},
            {"jited_bytes", info.jited_prog_len},
            {"listener_charge", charges.listener - baseline.listener},
            {"accepted_charge", charges.accepted ? nlohmann::json(*charges.accepted - baseline.accepted.value_or(0))
                                                 : nlohmann::json()},
            {"optmem_max", limit},
        };
        if (markdown) {
            std::uint32_t charge = row["listener_charge"];
            std::printf("| %s | %zu | %u | %u | %u B | %.1f %% |\n", row["filter"].get<std::string>().c_str(),
                        bpf_program__insn_cnt(program), info.xlated_prog_len / 8, info.verified_insns, charge,
                        100.0 * charge / static_cast<double>(limit));
        } else {
            std::puts(row.dump().c_str());
        }
        bpf_object__close(object);
    }
    return 0;
}
