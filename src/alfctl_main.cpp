// alfctl as an executable of its own, without the compiler: the verbs on
// running services (list, rules, stats, log, map) run here, so that `alfctl
// rules NAME deny CIDR` starts as fast as ipset does (the compiler makes
// alfwrapper large, and a process pays for its size when it starts). The
// other verbs, the help and the version are alfwrapper's: it runs them when
// started as alfctl, from the directory this executable is in.
#include "cli/ctl_cli.hpp"
#include "common/error.hpp"
#include "common/report.hpp"
#include "common/util.hpp"
#include "tools.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

// alfwrapper beside this executable (the build tree, or the bin/ both are
// installed into), as alfctl.
[[noreturn]] void run_full_alfctl(int argc, char **argv) {
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) throw alf::system_error("cannot find alfctl's own executable (/proc/self/exe)", errno);
    std::string path(self, static_cast<std::size_t>(length));
    path = path.substr(0, path.find_last_of('/') + 1) + "alfwrapper";
    std::vector<char *> arguments(argv, argv + argc);
    std::string name = "alfctl";
    if (arguments.empty()) arguments.push_back(nullptr);
    arguments[0] = name.data();
    arguments.push_back(nullptr);
    execv(path.c_str(), arguments.data());
    throw alf::system_error("cannot run " + path + ", which runs this verb (it is installed beside alfctl)", errno);
}

// The code mapped before the static initializers run, so that they and the
// verb fault none of it in: a one-rule change took 62 page faults, 40 so.
__attribute__((constructor(101))) void map_code_first() { alf::map_code_at_once(); }

}  // namespace

int main(int argc, char **argv) {
    alf::Reporter report{.program = "alfctl"};
    return alf::run_reporting_errors(report, [&] {
        alf::CtlCommand command;
        try {
            command = alf::parse_ctl_command_line(argc, argv);
        } catch (const alf::Error &) {
            run_full_alfctl(argc, argv);  // which says what is wrong, as it does for every verb
        }
        if (command.help || command.version || !alf::is_live_verb(command.verb)) run_full_alfctl(argc, argv);
        report.verbose = command.verbose;
        report.quiet = command.quiet;
        return alf::run_live_verb(command, report);
    });
}
