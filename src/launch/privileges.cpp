#include "launch/privileges.hpp"

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "common/net_address.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace alf {

namespace {

constexpr std::uint64_t id_max = 4294967294;  // (uid_t)-1 means "unchanged" to the kernel

bool is_number(const std::string &text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

void clear_capabilities() {
    CapabilitySets none;
    if (syscall(SYS_capset, &none.header, none.data) != 0)
        throw system_error("hand-off: cannot clear the capability sets", errno);
    // Clearing the permitted set empties the ambient set too; say so explicitly
    // for kernels and paths where it would not.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        throw system_error("hand-off: cannot clear the ambient capabilities", errno);
}

// Needs CAP_SETPCAP, so it comes before the uid change; without it the
// bounding set stays (it only limits what an exec could gain, and
// no_new_privs already forbids gaining anything).
void drop_bounding_set() {
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno == EPERM) return;
            throw system_error("hand-off: cannot drop capability " + std::to_string(cap) + " from the bounding set",
                               errno);
        }
    }
}

Error switch_error(const Credentials &c, const std::string &step, int err) {
    std::string who = c.change_user ? "user " + c.user : "group " + c.group;
    if (err == EPERM)
        return Error("cannot switch to " + who + " (" + step + "): alfwrapper runs as uid " + std::to_string(getuid()) +
                     " without CAP_SETUID/CAP_SETGID; start it as root, it drops to " + who + " itself",
                     exit_system);
    return system_error("cannot switch to " + who + " (" + step + ")", err);
}

void switch_ids(const Credentials &c) {
    std::vector<gid_t> current(static_cast<std::size_t>(std::max(getgroups(0, nullptr), 0)));
    if (getgroups(static_cast<int>(current.size()), current.data()) < 0) throw system_error("getgroups", errno);
    std::vector<gid_t> wanted = c.groups;
    std::sort(current.begin(), current.end());
    std::sort(wanted.begin(), wanted.end());
    if (current != wanted && setgroups(c.groups.size(), c.groups.data()) != 0)
        throw switch_error(c, "supplementary groups", errno);
    gid_t rgid, egid, sgid;
    getresgid(&rgid, &egid, &sgid);
    if ((rgid != c.gid || egid != c.gid || sgid != c.gid) && setresgid(c.gid, c.gid, c.gid) != 0)
        throw switch_error(c, "gid " + std::to_string(c.gid), errno);
    if (!c.change_user) return;
    uid_t ruid, euid, suid;
    getresuid(&ruid, &euid, &suid);
    if ((ruid != c.uid || euid != c.uid || suid != c.uid) && setresuid(c.uid, c.uid, c.uid) != 0)
        throw switch_error(c, "uid " + std::to_string(c.uid), errno);
}

void verify(const Credentials &c) {
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    bool uid_ok = !c.change_user || (ruid == c.uid && euid == c.uid && suid == c.uid);
    if (!uid_ok || rgid != c.gid || egid != c.gid || sgid != c.gid || !read_capability_sets().empty() ||
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        throw Error("hand-off: the privilege drop did not take effect; not starting the program", exit_system);
}

void drop_capabilities_only() {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw system_error("hand-off: PR_SET_NO_NEW_PRIVS", errno);
    clear_capabilities();
    // The ambient set is a subset of the permitted one: empty with it.
    if (!read_capability_sets().empty() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        throw Error("hand-off: the capabilities alfwrapper holds could not be dropped; not starting the program",
                    exit_system);
}

}  // namespace

std::optional<Credentials> resolve_credentials(const std::string &user, const std::string &group) {
    if (user.empty() && group.empty()) return std::nullopt;
    Credentials c;
    c.gid = getgid();
    if (!user.empty()) {
        c.change_user = true;
        const passwd *pw = nullptr;
        if (is_number(user)) {
            c.uid = static_cast<uid_t>(with_context("--user", [&] { return parse_unsigned(user, id_max, "a uid"); }));
            pw = getpwuid(c.uid);
        } else {
            pw = getpwnam(user.c_str());
            if (!pw) throw Error("--user '" + user + "': no such user (check `getent passwd " + user + "`)");
        }
        if (pw) {
            c.uid = pw->pw_uid;
            c.gid = pw->pw_gid;
            c.user = pw->pw_name;
            c.home = pw->pw_dir;
        } else {
            if (group.empty())
                throw Error("--user " + user + ": uid " + user + " has no entry in the user database, so it has no "
                            "group: give one with -g GROUP");
            c.user = user;
            c.home = "/";
        }
    }
    if (!group.empty()) {
        const struct group *gr = nullptr;
        if (is_number(group)) {
            c.gid = static_cast<gid_t>(with_context("--group", [&] { return parse_unsigned(group, id_max, "a gid"); }));
            gr = getgrgid(c.gid);
        } else {
            gr = getgrnam(group.c_str());
            if (!gr) throw Error("--group '" + group + "': no such group (check `getent group " + group + "`)");
            c.gid = gr->gr_gid;
        }
        c.group = gr ? gr->gr_name : group;
    } else if (const struct group *gr = getgrgid(c.gid)) {
        c.group = gr->gr_name;
    } else {
        c.group = std::to_string(c.gid);
    }
    c.groups = {c.gid};
    if (c.change_user && getpwnam(c.user.c_str())) {
        int count = 64;
        for (;;) {
            c.groups.assign(static_cast<std::size_t>(count), 0);
            int n = count;
            if (getgrouplist(c.user.c_str(), c.gid, c.groups.data(), &n) >= 0) {
                c.groups.resize(static_cast<std::size_t>(n));
                break;
            }
            count = n > count ? n : count * 2;
        }
    }
    return c;
}

void drop_privileges(const std::optional<Credentials> &credentials) {
    if (!credentials) {
        if (geteuid() == 0) return;
        if (!read_capability_sets().empty()) drop_capabilities_only();
        return;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw system_error("hand-off: PR_SET_NO_NEW_PRIVS", errno);
    drop_bounding_set();
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        throw system_error("hand-off: cannot clear the ambient capabilities", errno);
    switch_ids(*credentials);
    clear_capabilities();
    verify(*credentials);
}

std::vector<std::string> credential_environment(const Credentials &credentials) {
    if (!credentials.change_user) return {};
    return {"HOME=" + credentials.home, "USER=" + credentials.user, "LOGNAME=" + credentials.user};
}

}  // namespace alf
