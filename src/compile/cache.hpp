// The compile cache: BPF objects keyed by everything that determines them.
//
// The key covers the source, the defines, the include directories, the
// working directory, the compiler and the project. Which headers a source
// includes is known only after compiling it, so each entry also carries a
// manifest: every file the compiler read (with the SHA-256 of what it read)
// and every path it looked for and did not find. An entry is used only when
// all of them are still as recorded; anything else, including an entry that
// is unreadable, truncated or corrupt, means compiling again.
//
// Location: --cache-dir, else $XDG_CACHE_HOME/alfwrapper, else
// ~/.cache/alfwrapper, created 0700. A directory owned by another user or
// writable by others is not used (a warning says why): its entries could
// have been planted. Entries are written to a temporary file and renamed.
#pragma once

#include "compile/compiler.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alf {

// What a cached object was compiled from, besides the files it read.
struct CacheKeyInput {
    std::string source_path;  // as given
    std::string source;       // its content
    std::vector<std::string> defines;
    std::vector<std::string> include_dirs;
    std::string working_directory;
    std::string optimization;  // what was asked for: "fast", "full"
};

// Lowercase hex SHA-256 over the input, the compiler's version, the project's
// version and the embedded runtime headers.
std::string cache_key(const CacheKeyInput &input);

struct CachedObject {
    std::vector<std::uint8_t> object;
    std::string optimization;  // what it was compiled with: "fast", "full"
    std::string warnings;      // the compiler's warnings, shown again on a hit
};

class ObjectCache {
public:
    // The directory to use when none is given; empty when no home is known.
    static std::string default_directory();

    // Opens (creating it 0700 if missing) `directory`. Never throws: a cache
    // that cannot be used is disabled, and `warning` says why.
    static ObjectCache open(const std::string &directory, std::string &warning);

    // A cache that stores and finds nothing (--no-cache).
    static ObjectCache disabled() { return ObjectCache(); }

    bool enabled() const { return static_cast<bool>(directory_fd_); }
    const std::string &directory() const { return directory_; }

    // The entry for `key` if it is intact and its manifest still holds;
    // otherwise nothing, and `why` says what was wrong (empty: no entry).
    std::optional<CachedObject> lookup(const std::string &key, std::string &why) const;

    // Writes the entry atomically. Returns an empty string or what failed.
    std::string store(const std::string &key, const CachedObject &entry,
                      const std::vector<CompileInput> &inputs) const;

    // The path of the entry for `key` (for messages and tests).
    std::string entry_path(const std::string &key) const;

private:
    ObjectCache() = default;
    std::string directory_;
    UniqueFd directory_fd_;
};

}  // namespace alf
