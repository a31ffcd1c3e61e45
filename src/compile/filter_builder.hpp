// Getting the filter's BPF object: a built-in filter's embedded object, a .o
// read from a file, or a .c taken compiled from the cache or compiled
// by the embedded compiler in a process of its own (and cached).
#pragma once

#include "common/report.hpp"
#include "compile/cache.hpp"
#include "compile/compiler.hpp"

#include <cstdint>
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

struct FilterBytes {
    enum class Origin { file, cache, compiler, builtin };
    std::vector<std::uint8_t> object;
    std::string warnings;  // compiler warnings, shown to the user by obtain()
    Origin origin = Origin::file;
    Optimization optimization = Optimization::full;
    double compile_ms = 0;
};

class FilterBuilder {
public:
    FilterBuilder(FilterSource source, BuildOptions options, const Reporter &report);

    // The object: read from a .o, found in the cache, or compiled (and then
    // cached); the compiler's warnings are shown unless -q. Throws Error with
    // the compiler's diagnostics (real path, line, caret) when the source
    // does not compile.
    FilterBytes obtain();

    // Whether a program the verifier rejected may load when compiled again
    // with the full optimizer: it came from the fast one.
    bool may_compile_fuller(const FilterBytes &bytes) const;

    // The source compiled with the full optimizer; that object replaces the
    // cached one.
    FilterBytes compile_fuller();

    const FilterSource &source() const { return source_; }

private:
    FilterBytes find_or_compile();
    FilterBytes compile(Optimization optimization);
    std::string key_for(Optimization optimization) const;
    FilterSource source_;
    BuildOptions options_;
    const Reporter &report_;
    ObjectCache cache_;
    std::string source_text_;
    std::string key_;
};

// A name is a built-in filter's when it is neither a path nor a file name
// and alfwrapper carries a filter of that name.
bool is_builtin_filter_name(const std::string &name);

}  // namespace alf
