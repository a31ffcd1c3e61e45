// Getting the filter's BPF object and loading it: a built-in filter's embedded
// object, a .o read from a file, or a .c taken compiled from the cache or
// compiled in-process (and cached).
#pragma once

#include "cache.hpp"
#include "compiler.hpp"
#include "loader.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace alf {

struct FilterSource {
    std::string path;                      // .c, .o, or the name of a built-in filter
    std::vector<std::string> defines;      // -D
    std::vector<std::string> include_dirs; // -I
    bool builtin_only = false;             // privileges not the caller's: no file, no compiler
};

struct BuildOptions {
    bool color = false;          // diagnostics for a terminal
    bool use_cache = true;       // --no-cache turns it off
    std::string cache_dir;       // --cache-dir; empty: ObjectCache::default_directory()
    Optimization optimization = Optimization::fast;
};

// How the steps say what they did (-v) and what the user should know.
struct Messages {
    std::function<void(const std::string &)> info = [](const std::string &) {};
    std::function<void(const std::string &)> warning = [](const std::string &) {};
};

struct FilterBytes {
    enum class Origin { file, cache, compiler, builtin };
    std::vector<std::uint8_t> object;
    std::string warnings;  // compiler warnings, to show the user
    Origin origin = Origin::file;
    Optimization optimization = Optimization::full;
    double compile_ms = 0;
};

class FilterBuilder {
public:
    FilterBuilder(FilterSource source, BuildOptions options, Messages messages);

    // The object: read from a .o, found in the cache, or compiled (and then
    // cached). Throws Error with the compiler's diagnostics (real path, line,
    // caret) when the source does not compile.
    FilterBytes obtain();

    // Opens and loads `bytes`, calling before_load on the opened object (map
    // sizes). When the verifier rejects a program the fast optimizer made, the
    // source is compiled with the full one and loaded once more (and that
    // object replaces the cached one); only if that fails too does the
    // rejection reach the user.
    FilterObject load(FilterBytes &bytes, const std::string &program,
                      const std::function<void(FilterObject &)> &before_load = {});

    const FilterSource &source() const { return source_; }

private:
    FilterBytes compile(Optimization optimization);
    std::string key_for(Optimization optimization) const;
    FilterSource source_;
    BuildOptions options_;
    Messages messages_;
    ObjectCache cache_;
    std::string source_text_;
    std::string key_;
};

const char *optimization_name(Optimization optimization);

// Reads a whole file; throws Error naming the file and `what` it is.
std::vector<std::uint8_t> read_file_bytes(const std::string &path, const std::string &what);

}  // namespace alf
