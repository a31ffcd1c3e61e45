// The capabilities this process holds: read by the back-end choice (may it
// load eBPF, and whose privilege is it) and by the hand-off (drop them all).
#pragma once

#include <linux/capability.h>

#include <cstdint>
#include <string>

namespace alf {

// The three sets as the kernel's capget/capset exchange them.
struct CapabilitySets {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};

    bool empty() const;
};

// capget(2) of this process; throws Error (exit status 2) when it fails.
CapabilitySets read_capability_sets();

// The capabilities this process holds, as bit masks (bit N: capability N).
struct Capabilities {
    std::uint64_t effective = 0, permitted = 0, ambient = 0;
    bool effective_has(int capability) const { return effective >> capability & 1; }
};
Capabilities held_capabilities();
// The effective and permitted sets alone (one capget(2), no read of /proc:
// for a check on the way to every launch); ambient is left 0.
Capabilities effective_and_permitted_capabilities();

// "cap_net_admin,cap_bpf": the names of the capabilities set in `mask`.
std::string capability_list(std::uint64_t mask);

}  // namespace alf
