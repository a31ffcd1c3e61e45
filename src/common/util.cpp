#include "common/util.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

extern "C" char __executable_start[], etext[];  // the executable's code, as the linker marks it

namespace alf {

bool write_fully(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

namespace {

void write_all(int fd, std::span<const std::uint8_t> bytes, const std::string &path) {
    if (!write_fully(fd, std::string_view(reinterpret_cast<const char *>(bytes.data()), bytes.size())))
        throw system_error("cannot write " + path, errno);
}

}  // namespace

int open_file(const std::string &path, const std::string &what, int extra_flags) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | extra_flags);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT) throw Error(what + " " + path + ": no such file");
        throw Error(what + " " + path + ": cannot open: " + std::strerror(err));
    }
    return fd;
}

int open_regular_file(const std::string &path, const std::string &what) {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
    UniqueFd fd(open_file(path, what, O_NONBLOCK));
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) throw Error(what + " " + path + ": not a regular file");
    int flags = fcntl(fd.get(), F_GETFL);
    if (flags >= 0) fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    return fd.release();
}

std::vector<std::uint8_t> read_file_bytes(const std::string &path, const std::string &what, std::size_t max_bytes) {
    UniqueFd fd(open_regular_file(path, what));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) throw Error(what + " " + path + ": cannot read: " + std::strerror(errno));
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
        throw Error(what + " " + path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                    std::to_string(max_bytes >> 20) + " MiB such a file may have");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(what + " " + path + ": cannot read: " + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

std::string read_file_text(const std::string &path, const std::string &what, std::size_t max_bytes) {
    auto bytes = read_file_bytes(path, what, max_bytes);
    return std::string(bytes.begin(), bytes.end());
}

std::string read_kernel_file(const char *path, std::size_t max_bytes) {
    UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
    std::string text;
    if (!fd) return text;
    char buffer[4096];
    while (text.size() < max_bytes) {
        ssize_t n = ::read(fd.get(), buffer, std::min(sizeof buffer, max_bytes - text.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

void write_file_atomically(const std::string &path, std::span<const std::uint8_t> bytes) {
    std::string temporary = path + ".tmp." + std::to_string(getpid());
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_EXCL, 0644));
    if (!fd) throw system_error("cannot write " + path + " (check that its directory exists and is writable)", errno);
    try {
        write_all(fd.get(), bytes, path);
    } catch (const Error &) {
        ::unlink(temporary.c_str());
        throw;
    }
    if (::close(fd.release()) != 0 || std::rename(temporary.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temporary.c_str());
        throw system_error("cannot write " + path, err);
    }
}

void write_output_file(const std::string &path, std::span<const std::uint8_t> bytes) {
    if (path == "-") {
        write_all(STDOUT_FILENO, bytes, "standard output");
        return;
    }
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) throw Error("cannot write " + path + ": it is a directory");
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK));
        if (!fd) throw system_error("cannot write " + path, errno);
        write_all(fd.get(), bytes, path);
        if (::close(fd.release()) != 0) throw system_error("cannot write " + path, errno);
        return;
    }
    write_file_atomically(path, bytes);
}

std::string quote_input(std::string_view text, std::size_t limit) {
    std::string quoted;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (quoted.size() >= limit) {
            quoted += "... (" + std::to_string(text.size()) + " bytes)";
            break;
        }
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') quoted += "\\n";
        else if (c == '\t') quoted += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            quoted += escaped;
        } else quoted += static_cast<char>(c);
    }
    return quoted;
}

void map_code_at_once() {
    constexpr int populate_read = 22;  // MADV_POPULATE_READ
    std::uintptr_t code = reinterpret_cast<std::uintptr_t>(__executable_start) & ~std::uintptr_t(4095);
    ::madvise(reinterpret_cast<void *>(code), reinterpret_cast<std::uintptr_t>(etext) - code, populate_read);
}

void advise_huge_pages(void *data, std::size_t bytes) {
    constexpr std::uintptr_t huge_page = std::uintptr_t(1) << 21;
    auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge_page - 1) & ~(huge_page - 1);
    auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge_page - 1);
    if (end > begin) madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
}

bool cgroups_allow_two_cpus(const std::string &self_cgroup, const std::string &root) {
    std::istringstream groups(self_cgroup);
    std::string line;
    while (std::getline(groups, line)) {
        if (!line.starts_with("0::/")) continue;  // the unified hierarchy's line
        // The process's cgroup and each one above it, up to the root (which
        // has no limit of its own).
        for (std::string path = line.substr(3); path.size() > 1; path.resize(path.rfind('/'))) {
            std::istringstream limit(read_kernel_file((root + path + "/cpu.max").c_str(), 64));
            std::string quota, period;
            if (!(limit >> quota >> period) || quota == "max") continue;
            char *end = nullptr;
            unsigned long long allowed = std::strtoull(quota.c_str(), &end, 10);
            unsigned long long per = std::strtoull(period.c_str(), nullptr, 10);
            if (*end == '\0' && per > 0 && allowed < 2 * per) return false;
        }
    }
    return true;
}

bool may_run_on_two_cpus() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (::sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2) return false;
    return cgroups_allow_two_cpus(read_kernel_file("/proc/self/cgroup"), "/sys/fs/cgroup");
}

void run_in_parallel(const std::function<void()> &here, const std::function<void()> &there) {
    std::exception_ptr there_failed;
    std::thread thread;
    try {
        thread = std::thread([&] {
            try {
                there();
            } catch (...) {
                there_failed = std::current_exception();
            }
        });
    } catch (const std::system_error &) {
        here();
        there();
        return;
    }
    try {
        here();
    } catch (...) {
        thread.join();
        throw;
    }
    thread.join();
    if (there_failed) std::rethrow_exception(there_failed);
}

std::string milliseconds_text(double milliseconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms", milliseconds);
    return text;
}

}  // namespace alf
