#include "bpf_access.hpp"

#include "builtin_filters.hpp"
#include "cli.hpp"
#include "error.hpp"

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

namespace alf {

namespace {

const char *const capability_names[] = {
    "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill", "cap_setgid",
    "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
    "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio",
    "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
    "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
    "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
    "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
};

std::string capability_list(std::uint64_t mask) {
    std::string text;
    for (int cap = 0; cap < 64; ++cap) {
        if (!(mask >> cap & 1)) continue;
        text += text.empty() ? "" : ",";
        text += cap < static_cast<int>(std::size(capability_names)) ? capability_names[cap]
                                                                     : "capability " + std::to_string(cap);
    }
    return text;
}

int read_unprivileged_bpf_disabled() {
    std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
    int value = -1;
    if (!(in >> value)) return -1;
    return value;
}

std::string own_executable() {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return "/usr/local/bin/alfwrapper";
    return std::string(path, static_cast<std::size_t>(n));
}

// Whether the kernel loads eBPF for us: a two-instruction socket filter.
int probe_ebpf() {
    const bpf_insn program[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "alf_probe", "GPL", program, 2, nullptr);
    if (fd < 0) return errno ? errno : EPERM;
    close(fd);
    return 0;
}

std::string setcap_line(const BpfAccess &access) { return "setcap cap_bpf+ep " + access.executable; }

// Why eBPF cannot be loaded here, as the kernel sees it.
std::string ebpf_restriction(const BpfAccess &access) {
    std::string who = "alfwrapper (uid " + std::to_string(getuid()) + ") does not hold";
    int sysctl = access.unprivileged_bpf_disabled;
    if (access.ebpf_errno == EPERM && sysctl > 0)
        return "loading eBPF needs CAP_BPF, which " + who + ", and kernel.unprivileged_bpf_disabled is " +
               std::to_string(sysctl) + " (eBPF is off for unprivileged users)";
    return "the kernel refused to load a minimal eBPF program (" + std::string(std::strerror(access.ebpf_errno)) +
           "; CAP_BPF, which " + who + ", would allow it; kernel.unprivileged_bpf_disabled is " +
           (sysctl < 0 ? std::string("unreadable") : std::to_string(sysctl)) + ")";
}

// The rules filter and nothing else: what classic BPF can express.
bool rules_only(const Options &options) {
    return options.filter == "subnets" &&
           !(options.allow.empty() && options.deny.empty() && options.rules_files.empty()) && options.sets.empty() && options.set_files.empty() &&
           options.map_sizes.empty() && options.map_entries.empty() && options.program.empty() &&
           options.defines.empty() && options.include_dirs.empty();
}

bool is_builtin(const std::string &filter) {
    return filter.find('/') == std::string::npos && !filter.ends_with(".c") && !filter.ends_with(".o") &&
           find_builtin_filter(filter).has_value();
}

Error ebpf_refused(const Options &options, const BpfAccess &access) {
    std::string text = "filter " + options.filter + ": " + ebpf_restriction(access) + ". Ways out: ";
    if (is_builtin(options.filter))
        text += "grant cap_bpf to alfwrapper (as root: " + setcap_line(access) + "), or ";
    text += "run it as root or from a systemd unit with AmbientCapabilities=CAP_BPF";
    text += "; without privileges, --allow/--deny/--rules-file rules alone (no other filter, --set or --map-size) "
            "work on datagram and Unix sockets, compiled to classic BPF";
    return Error(text, exit_system);
}

std::string trusted_only_reason(const BpfAccess &access) {
    return "this alfwrapper holds CAP_BPF from its file capability (" + access.executable +
           "), not from you, so it loads only the filters built into it (" + [] {
               std::string names;
               for (const auto &name : builtin_filter_names()) names += (names.empty() ? "" : ", ") + name;
               return names;
           }() + ")";
}

}  // namespace

BpfAccess assess_bpf_access() {
    BpfAccess access;
    access.executable = own_executable();
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    if (ruid != euid || rgid != egid)
        throw Error("alfwrapper runs set-user-ID or set-group-ID (uid " + std::to_string(ruid) + ", effective uid " +
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
            throw Error("alfwrapper holds " + capability_list(beyond) + " from its file capability, beyond cap_bpf: "
                            "every user could use them through it; grant it exactly cap_bpf (as root: " +
                            setcap_line(access) + ")",
                        exit_usage);
    } else {
        access.privilege = Privilege::own_capabilities;
    }
    access.ebpf_errno = probe_ebpf();
    access.may_load_ebpf = access.ebpf_errno == 0;
    return access;
}

void require_trusted_inputs(const Options &options, const BpfAccess &access) {
    if (!access.delegated()) return;
    std::string reason = trusted_only_reason(access);
    std::string yours = "run it as root or from a systemd unit with AmbientCapabilities=CAP_BPF";
    if (!is_builtin(options.filter))
        throw Error("filter " + options.filter + ": refused: " + reason +
                        ", never a C source or object given to it (it could do anything CAP_BPF allows); to load "
                        "your own filter, " + yours,
                    exit_usage);
    if (!options.defines.empty() || !options.include_dirs.empty())
        throw Error(std::string(options.defines.empty() ? "-I" : "-D") + ": refused: " + reason +
                        ", compiled when alfwrapper was built, so nothing reaches a compiler",
                    exit_usage);
    if (!options.user.empty() || !options.group.empty())
        throw Error(std::string(options.user.empty() ? "--group" : "--user") + ": this alfwrapper holds only CAP_BPF "
                        "(from its file), so it cannot change users: the program runs as you, without capabilities",
                    exit_usage);
}

Backend choose_backend(const Options &options, const BpfAccess &access,
                       const std::function<void(const std::string &)> &say) {
    if (options.classic && options.ebpf)
        throw Error("--classic and --ebpf: give one, or neither to let alfwrapper choose");
    if (options.classic) {
        if (!rules_only(options))
            throw Error("--classic: only --allow/--deny/--rules-file rules compile to classic BPF" +
                        std::string(options.filter != "subnets"
                                        ? "; filter " + options.filter + " is an eBPF program"
                                        : "; --set, --set-file, --map-size and --program apply to eBPF filters"));
        say("back end: classic BPF (--classic)");
        return Backend::classic;
    }
    if (access.may_load_ebpf) {
        const char *why = options.ebpf ? "--ebpf"
                          : access.privilege == Privilege::root ? "running as root"
                          : access.delegated() ? "CAP_BPF from alfwrapper's file capability: built-in filters only"
                          : access.privilege == Privilege::own_capabilities ? "CAP_BPF held"
                                                                            : "the kernel allows it";
        say(std::string("back end: eBPF (") + why + ")");
        return Backend::ebpf;
    }
    if (!options.ebpf && rules_only(options)) {
        say("back end: classic BPF: " + ebpf_restriction(access) +
            "; rules compile to classic BPF, which datagram and Unix sockets take without privileges");
        return Backend::classic;
    }
    throw ebpf_refused(options, access);
}

std::string classic_on_tcp_refused(const BpfAccess &access) {
    std::string text = "Linux lets only CAP_NET_ADMIN attach a classic BPF filter to a TCP socket (SO_ATTACH_FILTER; "
                       "commit 5d39580f68e6)";
    if (access.may_load_ebpf) return text + "; leave out --classic: alfwrapper may load the eBPF rules filter here";
    return text + ", and " + ebpf_restriction(access) + ". Ways out: grant cap_bpf to alfwrapper (as root: " +
           setcap_line(access) +
           "), run it from a systemd unit with AmbientCapabilities=CAP_BPF, or use a datagram socket (udp:...)";
}

}  // namespace alf
