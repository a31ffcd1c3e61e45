#include "bpf/bpf_access.hpp"

#include "bpf/bpf_syscall.hpp"

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/util.hpp"

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace alf {

namespace {

// "Seccomp:\t2" in /proc/self/status: a seccomp filter is installed.
bool seccomp_filter_installed() {
    std::string status = read_kernel_file("/proc/self/status");
    std::size_t at = status.find("\nSeccomp:");
    if (at == std::string::npos) return false;
    std::string line = status.substr(at + 1, status.find('\n', at + 1) - at - 1);
    return line.find('2') != std::string::npos;
}

int read_unprivileged_bpf_disabled() {
    std::string text = read_kernel_file("/proc/sys/kernel/unprivileged_bpf_disabled");
    char *end = nullptr;
    errno = 0;
    long value = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || errno != 0 || value < 0 || value > 1000) return -1;
    return static_cast<int>(value);
}

std::string own_executable(const std::string &tool) {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return tool;
    return std::string(path, static_cast<std::size_t>(n));
}

// Whether the kernel loads eBPF for us: a two-instruction socket filter.
int probe_ebpf() {
    const bpf_insn program[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    ProgramLoad load;
    load.name = "alf_probe";
    load.instructions = program;
    int fd = load_program(load);
    if (fd < 0) return errno ? errno : EPERM;
    close(fd);
    return 0;
}

}  // namespace

std::string setcap_line(const BpfAccess &access) { return "setcap cap_bpf+ep " + access.executable; }

std::string ebpf_restriction(const BpfAccess &access) {
    // CAP_BPF (or root) and still EPERM: not the capability, a seccomp filter
    // that blocks the bpf() system call (containers, hardened units).
    bool privileged = access.privilege == Privilege::root || access.capabilities.effective_has(CAP_BPF);
    if (privileged && access.ebpf_errno == EPERM && access.seccomp_filtered)
        return "the bpf() system call is blocked by a seccomp filter (" + access.tool + " holds CAP_BPF" +
               std::string(access.privilege == Privilege::root ? " as root" : "") +
               ", yet the kernel answers EPERM; /proc/self/status says Seccomp: 2); allow it: "
               "systemd-nspawn --system-call-filter=bpf, SystemCallFilter=bpf in a unit, or the container "
               "runtime's seccomp profile";
    std::string who = access.tool + " (uid " + std::to_string(getuid()) + ") does not hold";
    int sysctl = access.unprivileged_bpf_disabled;
    if (access.ebpf_errno == EPERM && sysctl > 0)
        return "loading eBPF needs CAP_BPF, which " + who + ", and kernel.unprivileged_bpf_disabled is " +
               std::to_string(sysctl) + " (eBPF is off for unprivileged users)";
    return "the kernel refused to load a minimal eBPF program (" + std::string(std::strerror(access.ebpf_errno)) +
           "; CAP_BPF, which " + who + ", would allow it; kernel.unprivileged_bpf_disabled is " +
           (sysctl < 0 ? std::string("unreadable") : std::to_string(sysctl)) + ")";
}

BpfAccess assess_bpf_access(const std::string &tool) {
    BpfAccess access;
    access.tool = tool;
    access.executable = own_executable(tool);
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    if (ruid != euid || rgid != egid)
        throw Error(access.tool + " runs set-user-ID or set-group-ID (uid " + std::to_string(ruid) + ", effective uid " +
                        std::to_string(euid) + "): it is not made for that; remove the bit (chmod u-s,g-s " +
                        access.executable + ") and grant the one capability it needs instead (" +
                        setcap_line(access) + ")",
                    exit_usage);
    access.capabilities = held_capabilities();
    access.unprivileged_bpf_disabled = read_unprivileged_bpf_disabled();
    const Capabilities &caps = access.capabilities;
    if (euid == 0) {
        access.privilege = Privilege::root;
    } else if (caps.permitted == 0) {
        access.privilege = Privilege::none;
    } else if (caps.ambient >> CAP_BPF & 1) {
        access.privilege = Privilege::own_capabilities;
    } else if (getauxval(AT_SECURE) || (caps.permitted & ~caps.ambient)) {
        // Capabilities a non-root process holds after exec that are not
        // ambient came from the program file: granted to every caller.
        access.privilege = Privilege::delegated;
        std::uint64_t beyond = caps.permitted & ~caps.ambient & ~(std::uint64_t(1) << CAP_BPF);
        if (beyond)
            throw Error(access.tool + " holds " + capability_list(beyond) + " from its file capability, beyond cap_bpf: "
                            "every user could use them through it; grant it exactly cap_bpf (as root: " +
                            setcap_line(access) + ")",
                        exit_usage);
    } else {
        access.privilege = Privilege::own_capabilities;
    }
    access.ebpf_errno = probe_ebpf();
    access.seccomp_filtered = access.ebpf_errno != 0 && seccomp_filter_installed();
    access.may_load_ebpf = access.ebpf_errno == 0;
    return access;
}

std::string classic_on_tcp_refused(const BpfAccess &access) {
    std::string text = "Linux lets only CAP_NET_ADMIN attach a classic BPF filter to a TCP socket (SO_ATTACH_FILTER; "
                       "commit 5d39580f68e6)";
    return text + ", and " + ebpf_restriction(access) + ". Ways out: grant cap_bpf to " + access.tool + " (as root: " +
           setcap_line(access) +
           "), run it from a systemd unit with AmbientCapabilities=CAP_BPF, or use a datagram socket (udp:...)";
}

}  // namespace alf
