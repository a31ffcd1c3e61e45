#include "launch/handoff.hpp"

#include "common/error.hpp"
#include "common/util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace alf {

namespace {

Error exec_error(const std::string &program, int err) {
    if (err == ENOENT) return Error(program + ": command not found", exit_not_found);
    return Error(program + ": cannot execute: " + std::strerror(err), exit_not_executable);
}

// 0 if path is an executable regular file, else the errno execve would give.
int check_executable(const std::string &path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (!S_ISREG(st.st_mode)) return EACCES;
    if (access(path.c_str(), X_OK) != 0) return errno;
    return 0;
}

}  // namespace

std::string resolve_program(const std::string &program) {
    if (program.empty()) throw Error("no PROGRAM given: name the service to start after the filter", exit_usage);
    if (program.find('/') != std::string::npos) {
        if (int err = check_executable(program)) throw exec_error(program, err);
        return program;
    }
    const char *path_env = std::getenv("PATH");
    std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    int first_error = ENOENT;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        int err = check_executable(candidate);
        if (err == 0) return candidate;
        if (err != ENOENT && err != ENOTDIR && first_error == ENOENT) first_error = err;
        start = end + 1;
    }
    throw exec_error(program, first_error);
}

std::vector<std::string> parse_setenv(const std::vector<std::string> &values) {
    std::vector<std::string> assignments;
    for (const auto &value : values) {
        auto eq = value.find('=');
        std::string name = value.substr(0, eq);
        if (name.empty() || name.find_first_of(" \t\n") != std::string::npos || (name[0] >= '0' && name[0] <= '9'))
            throw Error("--setenv '" + value + "': expected VAR=VALUE or VAR, VAR a variable name");
        if (name.starts_with("LISTEN_"))
            throw Error("--setenv '" + value + "': " + name + " belongs to the socket-activation hand-off; alfwrapper "
                        "sets LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES itself");
        if (eq != std::string::npos) {
            assignments.push_back(value);
            continue;
        }
        const char *current = std::getenv(name.c_str());
        if (!current)
            throw Error("--setenv " + name + ": " + name + " is not set in alfwrapper's environment; give a value: -E " +
                        name + "=VALUE");
        assignments.push_back(name + "=" + current);
    }
    return assignments;
}

std::string listen_fdnames(const std::vector<Socket> &sockets) {
    std::vector<std::string> names;
    for (const auto &socket : sockets) names.push_back(socket.name);
    return join(names, ":");
}

void exec_service(HandOff handoff) {
    const int count = static_cast<int>(handoff.sockets.size());
    const std::string names = listen_fdnames(handoff.sockets);

    // First lift every socket above the target range, so no move clobbers
    // a socket still waiting to be moved.
    std::vector<UniqueFd> lifted;
    for (auto &socket : handoff.sockets) {
        int fd = fcntl(socket.fd.get(), F_DUPFD_CLOEXEC, listen_fds_start + count);
        if (fd < 0) throw system_error("hand-off: cannot duplicate " + socket.description, errno);
        lifted.emplace_back(fd);
        socket.fd.reset();
    }
    for (int i = 0; i < count; ++i) {
        // dup2 leaves the new fd without FD_CLOEXEC: it survives the exec.
        if (dup2(lifted[i].get(), listen_fds_start + i) < 0)
            throw system_error("hand-off: cannot move " + handoff.sockets[i].description, errno);
    }
    lifted.clear();

    drop_privileges(handoff.credentials);

    std::vector<std::string> environment;
    if (handoff.credentials) environment = credential_environment(*handoff.credentials);
    environment.insert(environment.end(), handoff.environment.begin(), handoff.environment.end());
    for (const auto &assignment : environment) {
        auto eq = assignment.find('=');
        if (eq == std::string::npos) unsetenv(assignment.c_str());
        else setenv(assignment.substr(0, eq).c_str(), assignment.substr(eq + 1).c_str(), 1);
    }
    // exec keeps the pid, so the service's pid is ours.
    setenv("LISTEN_FDS", std::to_string(count).c_str(), 1);
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("LISTEN_FDNAMES", names.c_str(), 1);

    // Whatever we inherited or opened beyond the sockets must not reach the service.
    if (close_range(listen_fds_start + count, ~0U, 0) != 0)
        throw system_error("hand-off: cannot close descriptors", errno);

    std::vector<char *> argv;
    for (auto &arg : handoff.argv) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    throw exec_error(handoff.argv[0], errno);
}

}  // namespace alf
