// Who the service runs as: -u/--user and -g/--group looked up before any
// socket is opened, and the drop itself at the hand-off (after the sockets and
// the filter, which may need root, are done).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alf {

struct Credentials {
    bool change_user = false;   // -u given
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups, the user's (as initgroups would set them)
    std::string user;           // name, or the number when the user database has no entry
    std::string group;
    std::string home;
};

// Looks up USER and GROUP (names or numbers; empty: not given). nullopt when
// neither is given. Throws Error for an unknown user or group.
std::optional<Credentials> resolve_credentials(const std::string &user, const std::string &group);

// With credentials: supplementary groups, then gid, then uid; every capability
// cleared (effective, permitted, inheritable, ambient, and the bounding set
// where allowed), PR_SET_NO_NEW_PRIVS set; verified afterwards. Without: a
// process that is not root and holds capabilities drops them all and sets
// PR_SET_NO_NEW_PRIVS, verified afterwards (a capability granted to
// alfwrapper, by its file or ambient, must not reach the service); root
// stays root, and a process without capabilities is left as it is.
void drop_privileges(const std::optional<Credentials> &credentials);

// HOME, USER, LOGNAME for the new user ("VAR=VALUE"); empty without -u.
std::vector<std::string> credential_environment(const Credentials &credentials);

}  // namespace alf
