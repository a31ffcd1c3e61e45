#include "compile/cache.hpp"

#include "common/util.hpp"
#include "compile/headers.hpp"
#include"common/sha256.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace alf {

namespace {

constexpr std::string_view entry_magic = "alfwrapper compiled object 1\n";

const char *kind_name(CompileInput::Kind kind) {
    switch (kind) {
    case CompileInput::Kind::read: return "read";
    case CompileInput::Kind::exists: return "exists";
    case CompileInput::Kind::absent: return "absent";
    }
    return "?";
}

// Reads a whole file into `out`; false if it cannot be read.
bool read_all(int fd, std::string &out) {
    char buffer[16384];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

// Whether one manifest line still describes the file system; `why` otherwise.
bool input_still_holds(const nlohmann::json &input, std::string &why) {
    const std::string path = input.at("path").get<std::string>();
    const std::string kind = input.at("kind").get<std::string>();
    struct stat st;
    if (kind == "absent") {
        if (::stat(path.c_str(), &st) == 0 || errno != ENOENT) {
            why = path + " exists now";
            return false;
        }
        return true;
    }
    if (kind == "exists") {
        if (::stat(path.c_str(), &st) != 0) {
            why = path + " is gone";
            return false;
        }
        return true;
    }
    if (kind != "read") throw std::runtime_error("unknown input kind");
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string content;
    if (!fd || !read_all(fd.get(), content)) {
        why = path + " cannot be read";
        return false;
    }
    if (sha256_hex(content) != input.at("sha256").get<std::string>()) {
        why = path + " changed";
        return false;
    }
    return true;
}

// mkdir -p with mode 0700 for what it creates.
void make_directories(const std::string &path) {
    std::string prefix;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        prefix = path.substr(0, pos);
        if (!prefix.empty()) ::mkdir(prefix.c_str(), 0700);
    }
}

}  // namespace

std::string cache_key(const CacheKeyInput &input) {
    Sha256 hash;
    hash.field("alfwrapper compile cache").field(ALF_VERSION).field(compiler_version());
    hash.field(runtime_headers_digest());
    hash.field(input.optimization).field(input.working_directory).field(input.source_path);
    hash.field(input.source);
    hash.field(std::to_string(input.defines.size()));
    for (const auto &d : input.defines) hash.field(d);
    hash.field(std::to_string(input.include_dirs.size()));
    for (const auto &dir : input.include_dirs) hash.field(dir);
    return to_hex(hash.finish());
}

std::string ObjectCache::default_directory() {
    // A unit's CacheDirectory= (systemd sets $CACHE_DIRECTORY, ':' between
    // several): the directory systemd made for the service's user.
    if (const char *unit = std::getenv("CACHE_DIRECTORY"); unit && unit[0] == '/') {
        std::string first = unit;
        return first.substr(0, first.find(':'));
    }
    // The XDG base directory specification ignores relative paths.
    if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/') return std::string(xdg) + "/alfwrapper";
    const char *home = std::getenv("HOME");
    if (!home || home[0] != '/') {
        const struct passwd *user = getpwuid(geteuid());
        home = user ? user->pw_dir : nullptr;
    }
    if (!home || home[0] != '/') return {};
    return std::string(home) + "/.cache/alfwrapper";
}

namespace {

// A symbolic link on the way to the cache that another user owns could point
// it anywhere, for instance into a directory only we may write: the first
// such link, or empty.
std::string link_of_another_user(const std::string &directory) {
    std::string prefix = directory.starts_with("/") ? "" : ".";
    for (std::size_t start = 0; start < directory.size();) {
        std::size_t end = std::min(directory.find('/', start), directory.size());
        if (end > start) {
            prefix += "/" + directory.substr(start, end - start);
            struct stat st;
            if (::lstat(prefix.c_str(), &st) != 0) break;
            if (S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid()) return prefix;
        }
        start = end + 1;
    }
    return {};
}

}  // namespace

ObjectCache ObjectCache::open(const std::string &directory, std::string &warning) {
    ObjectCache cache;
    if (directory.empty()) {
        warning = "no home directory to keep the compile cache in; compiling every time (use --cache-dir DIR)";
        return cache;
    }
    if (std::string link = link_of_another_user(directory); !link.empty()) {
        warning = "compile cache " + directory + ": " + link +
                  " is a symbolic link of another user; not using it: it could point the cache anywhere (use "
                  "--cache-dir DIR or --no-cache)";
        return cache;
    }
    if (::mkdir(directory.c_str(), 0700) != 0 && errno == ENOENT) {
        make_directories(directory);
    }
    UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    if (!fd || fstat(fd.get(), &st) != 0) {
        warning = "compile cache " + directory + " cannot be used (" + std::strerror(errno) +
                  "); compiling every time (use --cache-dir DIR or --no-cache)";
        return cache;
    }
    if (st.st_uid != geteuid()) {
        warning = "compile cache " + directory + " belongs to another user (uid " + std::to_string(st.st_uid) +
                  "); not using it: its entries could have been planted (use --cache-dir DIR or --no-cache)";
        return cache;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        warning = "compile cache " + directory + " is writable by others (mode " + mode +
                  "); not using it: its entries could have been planted (chmod 700 it, or use --cache-dir DIR)";
        return cache;
    }
    cache.directory_ = directory;
    cache.directory_fd_ = std::move(fd);
    return cache;
}

std::string ObjectCache::entry_path(const std::string &key) const { return directory_ + "/" + key; }

std::optional<CachedObject> ObjectCache::lookup(const std::string &key, std::string &why) const {
    why.clear();
    if (!enabled()) return std::nullopt;
    UniqueFd fd(::openat(directory_fd_.get(), key.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno != ENOENT) why = "entry " + entry_path(key) + " cannot be opened: " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st;
    std::string data;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || !read_all(fd.get(), data)) {
        why = "entry " + entry_path(key) + " is not a readable file of ours";
        return std::nullopt;
    }
    const std::string corrupt = "entry " + entry_path(key) + " is corrupt";
    if (!std::string_view(data).starts_with(entry_magic)) {
        why = corrupt;
        return std::nullopt;
    }
    auto header_end = data.find('\n', entry_magic.size());
    if (header_end == std::string::npos) {
        why = corrupt + " (truncated)";
        return std::nullopt;
    }
    try {
        auto header = nlohmann::json::parse(data.begin() + static_cast<std::ptrdiff_t>(entry_magic.size()),
                                            data.begin() + static_cast<std::ptrdiff_t>(header_end));
        std::string_view object(data.data() + header_end + 1, data.size() - header_end - 1);
        if (header.at("key").get<std::string>() != key || header.at("object_size").get<std::size_t>() != object.size() ||
            header.at("object_sha256").get<std::string>() != sha256_hex(object)) {
            why = corrupt + " (its object does not match its header)";
            return std::nullopt;
        }
        for (const auto &input : header.at("inputs"))
            if (!input_still_holds(input, why)) return std::nullopt;
        CachedObject entry;
        entry.object.assign(object.begin(), object.end());
        entry.optimization = header.at("optimization").get<std::string>();
        entry.warnings = header.at("warnings").get<std::string>();
        return entry;
    } catch (const std::exception &) {
        why = corrupt + " (unreadable header)";
        return std::nullopt;
    }
}

std::string ObjectCache::store(const std::string &key, const CachedObject &entry,
                               const std::vector<CompileInput> &inputs) const {
    if (!enabled()) return {};
    nlohmann::json manifest = nlohmann::json::array();
    for (const auto &input : inputs) {
        nlohmann::json line = {{"path", input.path}, {"kind", kind_name(input.kind)}};
        if (input.kind == CompileInput::Kind::read) line["sha256"] = sha256_hex(input.content);
        manifest.push_back(std::move(line));
    }
    std::string_view object(reinterpret_cast<const char *>(entry.object.data()), entry.object.size());
    nlohmann::json header = {{"key", key},
                             {"optimization", entry.optimization},
                             {"warnings", entry.warnings},
                             {"object_size", object.size()},
                             {"object_sha256", sha256_hex(object)},
                             {"inputs", std::move(manifest)}};
    std::string data(entry_magic);
    data += header.dump();
    data += '\n';
    data += object;

    static std::atomic<unsigned> counter{0};
    std::string temporary = ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
    UniqueFd fd(::openat(directory_fd_.get(), temporary.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return "cannot create an entry in " + directory_ + ": " + std::strerror(errno);
    bool written = write_fully(fd.get(), data);
    int err = errno;
    fd.reset();
    if (!written || ::renameat(directory_fd_.get(), temporary.c_str(), directory_fd_.get(), key.c_str()) != 0) {
        if (written) err = errno;
        ::unlinkat(directory_fd_.get(), temporary.c_str(), 0);
        return "cannot write " + entry_path(key) + ": " + std::strerror(err);
    }
    return {};
}

}  // namespace alf
