// Small utilities every stage leans on: joining words, reading and writing
// whole files, timing a step.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

// "a, b, c": the items with `separator` between them.
template <typename Range>
std::string join(const Range &items, std::string_view separator = ", ") {
    std::string text;
    bool first = true;
    for (const auto &item : items) {
        if (!first) text += separator;
        text += item;
        first = false;
    }
    return text;
}

// At most `limit` bytes of user text for a message: control characters
// (a newline in an argument) escaped, the rest cut with "... (N bytes)".
std::string quote_input(std::string_view text, std::size_t limit = 200);

// Opens a file for reading (CLOEXEC); throws Error "WHAT PATH: no such
// file" or "WHAT PATH: cannot open: REASON".
int open_file(const std::string &path, const std::string &what, int extra_flags = 0);

// The same for a regular file only (a FIFO is refused, not waited on).
int open_regular_file(const std::string &path, const std::string &what);

// Reads a whole regular file of at most `max_bytes` (checked before
// reading); throws Error naming `what` and the file.
inline constexpr std::size_t default_max_file_bytes = std::size_t(1) << 30;
std::vector<std::uint8_t> read_file_bytes(const std::string &path, const std::string &what,
                                          std::size_t max_bytes = default_max_file_bytes);
std::string read_file_text(const std::string &path, const std::string &what,
                           std::size_t max_bytes = default_max_file_bytes);
// A small file of /proc or /sys (whose size stat() does not give), read
// to its end, at most `max_bytes`; empty when it cannot be read.
std::string read_kernel_file(const char *path, std::size_t max_bytes = 65536);

// Writes all of `bytes` to fd (again after a signal); false when a write
// fails, errno saying why. Allocates nothing.
bool write_fully(int fd, std::string_view bytes);

// Writes a file through a temporary beside it and a rename: a reader sees the
// old content or the new, never a part. Throws Error (exit status 2).
void write_file_atomically(const std::string &path, std::span<const std::uint8_t> bytes);

// Writes an output the user named: "-" is standard output, an existing
// non-regular file (a device, a FIFO) is written in place, anything else
// atomically. Every write error is an Error (exit status 2).
void write_output_file(const std::string &path, std::span<const std::uint8_t> bytes);

// Asks for transparent huge pages for the 2 MiB-aligned part of a large
// anonymous allocation, before it is first written: here a first touch of a
// 4 KiB page costs microseconds, and a million rules fill thousands. Only
// advice: where THP is off, nothing changes.
void advise_huge_pages(void *data, std::size_t bytes);

// Maps the executable's code into the process at once (one system call, from
// the page cache) instead of by a page fault wherever code first runs: each
// fault costs 5-12 us in these VMs, and a process that runs code spread over
// its executable takes dozens to hundreds of them (bench/RESULTS.md). Only
// advice: an older kernel (before 5.14) refuses it, and nothing changes.
void map_code_at_once();

// Runs `there` on a second thread while `here` runs on this one, and returns
// when both have finished: for the steps of a large load that share nothing
// (the two halves of a rules file, the two families of rules), on the
// second CPU. An exception of `here` is rethrown first (callers give it the
// work that comes first), else one of `there`. Without a thread to be had
// (RLIMIT_NPROC), both run here in turn.
void run_in_parallel(const std::function<void()> &here, const std::function<void()> &there);

// Whether this process may run on two CPUs at once: its CPU affinity holds
// two or more, and no cgroup (v2) it lies in allows it less than two CPUs'
// time (cpu.max, e.g. systemd's CPUQuota=). For work done twice to be done
// sooner (a compile split in two); work that is divided needs no such care.
bool may_run_on_two_cpus();
// Its cgroup part: `self_cgroup` as /proc/self/cgroup reads, the cgroup
// file system mounted at `root`.
bool cgroups_allow_two_cpus(const std::string &self_cgroup, const std::string &root);

// Milliseconds as -v prints them: "12.3 ms".
std::string milliseconds_text(double milliseconds);

// Time since construction, for -v: "12.3 ms".
class Stopwatch {
public:
    double milliseconds() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    }
    std::string text() const { return milliseconds_text(milliseconds()); }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace alf
