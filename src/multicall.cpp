// alfwrapper runs both tools, so the statically linked Clang/LLVM is on disk
// once: the name it was started as picks the tool. alfctl's own executable
// (alfctl_main.cpp) starts it as alfctl for the verbs that need the compiler.
#include "common/report.hpp"
#include "launch/privileges.hpp"
#include "tools.hpp"

#include <sys/auxv.h>

#include <optional>
#include <string_view>

namespace {

std::string_view base_name(const char *path) {
    std::string_view name = path ? path : "";
    return name.substr(name.find_last_of('/') + 1);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 1 || base_name(argv[0]) != "alfctl") return alf::alfwrapper_main(argc, argv);
    // A capability granted to the file (setcap cap_bpf+ep) is for alfwrapper,
    // which checks what it loads with it; alfctl runs with the caller's own
    // privileges, as it did when it was an executable of its own.
    if (getauxval(AT_SECURE)) {
        alf::Reporter report{.program = "alfctl"};
        int status = alf::run_reporting_errors(report, [] {
            alf::drop_privileges(std::nullopt);
            return 0;
        });
        if (status != 0) return status;
    }
    return alf::alfctl_main(argc, argv);
}
