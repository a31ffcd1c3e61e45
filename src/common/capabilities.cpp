#include "common/capabilities.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>

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

}  // namespace

bool CapabilitySets::empty() const {
    return std::all_of(std::begin(data), std::end(data),
                       [](const auto &d) { return d.effective == 0 && d.permitted == 0 && d.inheritable == 0; });
}

CapabilitySets read_capability_sets() {
    CapabilitySets caps;
    if (syscall(SYS_capget, &caps.header, caps.data) != 0) throw system_error("capget", errno);
    return caps;
}

Capabilities effective_and_permitted_capabilities() {
    CapabilitySets sets = read_capability_sets();
    Capabilities caps;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
        caps.effective |= std::uint64_t(sets.data[i].effective) << (32 * i);
        caps.permitted |= std::uint64_t(sets.data[i].permitted) << (32 * i);
    }
    return caps;
}

Capabilities held_capabilities() {
    Capabilities caps = effective_and_permitted_capabilities();
    // The ambient set, in one read of /proc (a prctl() asks for one
    // capability at a time: 41 system calls); asked of prctl() without /proc.
    std::string status = read_kernel_file("/proc/self/status");
    if (auto at = status.find("\nCapAmb:"); at != std::string::npos) {
        caps.ambient = std::strtoull(status.c_str() + at + 8, nullptr, 16);
        return caps;
    }
    for (int cap = 0; cap < 64; ++cap) {
        int set = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
        if (set < 0) break;  // past the last capability the kernel knows
        if (set == 1) caps.ambient |= std::uint64_t(1) << cap;
    }
    return caps;
}

std::string capability_list(std::uint64_t mask) {
    std::vector<std::string> names;
    for (int cap = 0; cap < 64; ++cap) {
        if (!(mask >> cap & 1)) continue;
        names.push_back(cap < static_cast<int>(std::size(capability_names)) ? capability_names[cap]
                                                                             : "capability " + std::to_string(cap));
    }
    return join(names, ",");
}

}  // namespace alf
