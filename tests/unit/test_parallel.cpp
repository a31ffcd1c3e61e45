// run_in_parallel: both steps run, on two threads, and the first step's
// error wins over the second's. cgroups_allow_two_cpus: a quota under two
// CPUs' time in the process's cgroup or one above it.
#include "common/error.hpp"
#include "common/util.hpp"
#include "temp_files.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <string>
#include <thread>

using namespace alf;

namespace {

std::string error_of_both(const std::function<void()> &here, const std::function<void()> &there) {
    try {
        run_in_parallel(here, there);
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("run_in_parallel: both steps, at once, and the first step's error first") {
    SUBCASE("both run, on two threads at the same time") {
        std::atomic<int> arrived{0};
        std::thread::id here_id, there_id;
        auto meet = [&](std::thread::id &id) {
            id = std::this_thread::get_id();
            ++arrived;
            // Each waits for the other: only two threads at once get past this.
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (arrived < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        };
        run_in_parallel([&] { meet(here_id); }, [&] { meet(there_id); });
        CHECK(arrived == 2);
        CHECK(here_id == std::this_thread::get_id());
        CHECK(there_id != here_id);
    }
    SUBCASE("an error of either is rethrown; of both, the first step's") {
        auto fail = [](const char *what) { return [what] { throw Error(what); }; };
        auto fine = [] {};
        CHECK(error_of_both(fine, fine) == "(no error)");
        CHECK(error_of_both(fail("first"), fine) == "first");
        CHECK(error_of_both(fine, fail("second")) == "second");
        CHECK(error_of_both(fail("first"), fail("second")) == "first");
        // The second step finishes even when the first fails early.
        std::atomic<bool> finished{false};
        CHECK(error_of_both(fail("first"),
                            [&] {
                                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                finished = true;
                            }) == "first");
        CHECK(finished);
    }
}

TEST_CASE("cgroups_allow_two_cpus: cpu.max of the process's cgroup and of those above it") {
    TempDir root("alf-cgroups");
    std::filesystem::create_directories(root.path() / "system.slice" / "alf.service");
    auto limit = [&](const std::string &group, const std::string &text) {
        write_text_file(root.file(group + "/cpu.max"), text);
    };
    const std::string self = "0::/system.slice/alf.service\n";
    CHECK(cgroups_allow_two_cpus(self, root.path().string()));  // no limit anywhere
    limit("system.slice/alf.service", "max 100000\n");
    CHECK(cgroups_allow_two_cpus(self, root.path().string()));
    limit("system.slice/alf.service", "200000 100000\n");  // two CPUs' time
    CHECK(cgroups_allow_two_cpus(self, root.path().string()));
    limit("system.slice/alf.service", "150000 100000\n");  // CPUQuota=150%
    CHECK_FALSE(cgroups_allow_two_cpus(self, root.path().string()));
    limit("system.slice/alf.service", "max 100000\n");
    limit("system.slice", "50000 100000\n");  // the slice above it
    CHECK_FALSE(cgroups_allow_two_cpus(self, root.path().string()));
    // Other hierarchies' lines (cgroup v1) and a process in the root: no limit read.
    CHECK(cgroups_allow_two_cpus("4:memory:/system.slice\n0::/\n", root.path().string()));
    CHECK(cgroups_allow_two_cpus("", root.path().string()));
}
