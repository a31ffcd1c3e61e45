#include "pipeline/backend.hpp"

#include "common/error.hpp"
#include "common/util.hpp"
#include "compile/builtin_filters.hpp"
#include "compile/filter_builder.hpp"

#include <linux/capability.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace alf {

namespace {

// The rules filter and nothing else: what classic BPF can express.
bool rules_only(const Configuration &config) {
    return config.filter == "subnets" && config.inputs.has_rules() && !config.inputs.has_map_inputs() &&
           !config.inputs.rule_hits && config.program.empty() && config.defines.empty() && config.include_dirs.empty();
}

Error ebpf_refused(const Configuration &config, const BpfAccess &access) {
    if (access.seccomp_filtered && access.ebpf_errno == EPERM &&
        (access.privilege == Privilege::root || access.capabilities.effective_has(CAP_BPF)))
        return Error("filter " + config.filter + ": " + ebpf_restriction(access), exit_system);
    std::string text = "filter " + config.filter + ": " + ebpf_restriction(access) + ". Ways out: ";
    if (is_builtin_filter_name(config.filter))
        text += "grant cap_bpf to " + access.tool + " (as root: " + setcap_line(access) + "), or ";
    text += "run it as root or from a systemd unit with AmbientCapabilities=CAP_BPF";
    text += "; without privileges, --allow/--deny/--rules-file rules alone (no other filter, --set or --map-size) "
            "work on datagram and Unix sockets, compiled to classic BPF";
    return Error(text, exit_system);
}

std::string trusted_only_reason(const BpfAccess &access) {
    return "this " + access.tool + " holds CAP_BPF from its file capability (" + access.executable +
           "), not from you, so it loads only the filters built into it (" + join(builtin_filter_names()) + ")";
}

}  // namespace

void require_trusted_inputs(const Configuration &config, const BpfAccess &access) {
    if (!access.delegated()) return;
    std::string reason = trusted_only_reason(access);
    std::string yours = "run it as root or from a systemd unit with AmbientCapabilities=CAP_BPF";
    if (!is_builtin_filter_name(config.filter))
        throw Error("filter " + config.filter + ": refused: " + reason +
                        ", never a C source or object given to it (it could do anything CAP_BPF allows); to load "
                        "your own filter, " + yours,
                    exit_usage);
    if (!config.defines.empty() || !config.include_dirs.empty())
        throw Error(std::string(config.defines.empty() ? "-I" : "-D") + ": refused: " + reason + ", compiled when " +
                        access.tool + " was built, so nothing reaches a compiler",
                    exit_usage);
    if (!config.user.empty() || !config.group.empty())
        throw Error(std::string(config.user.empty() ? "--group" : "--user") + ": this " + access.tool +
                        " holds only CAP_BPF (from its file), so it cannot change users: the program runs as you, "
                        "without capabilities",
                    exit_usage);
}

Backend choose_backend(const Configuration &config, const BpfAccess &access, const Reporter &report) {
    if (config.classic && config.ebpf)
        throw Error("--classic and --ebpf: give one, or neither to let " + access.tool + " choose");
    if (config.classic) {
        if (config.inputs.rule_hits)
            throw Error("--classic and --rule-hits: a classic BPF program counts nothing per rule; leave out "
                        "--rule-hits, or load the rules as eBPF (root or CAP_BPF)");
        if (!rules_only(config))
            throw Error("--classic: only --allow/--deny/--rules-file rules compile to classic BPF" +
                        std::string(config.filter != "subnets"
                                        ? "; filter " + config.filter + " is an eBPF program"
                                        : "; --set, --set-file, --map-size and --program apply to eBPF filters"));
        report.info("back end: classic BPF (--classic)");
        return Backend::classic;
    }
    if (access.may_load_ebpf) {
        std::string why = config.ebpf ? "--ebpf"
                          : access.privilege == Privilege::root ? "running as root"
                          : access.delegated() ? "CAP_BPF from " + access.tool + "'s file capability: built-in filters only"
                          : access.privilege == Privilege::own_capabilities ? "CAP_BPF held"
                                                                            : "the kernel allows it";
        report.info("back end: eBPF (" + why + ")");
        return Backend::ebpf;
    }
    if (!config.ebpf && rules_only(config)) {
        report.info("back end: classic BPF: " + ebpf_restriction(access) +
                    "; rules compile to classic BPF, which datagram and Unix sockets take without privileges");
        return Backend::classic;
    }
    throw ebpf_refused(config, access);
}

bool classic_as_ebpf(const std::vector<Socket> &sockets, const BpfAccess &access) {
    if (!access.may_load_ebpf || access.capabilities.effective_has(CAP_NET_ADMIN)) return false;
    return std::any_of(sockets.begin(), sockets.end(),
                       [](const Socket &socket) { return socket.type == SOCK_STREAM && socket.family != AF_UNIX; });
}

}  // namespace alf
