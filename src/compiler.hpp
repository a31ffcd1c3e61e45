// The filter compiler: restricted C -> BPF ELF object, in-process.
// The only module that includes Clang/LLVM headers (they are slow to compile
// and leak macros); its interface is plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alf {

struct VirtualHeader {
    std::string path;  // relative to the runtime include directory, e.g. "linux/bpf.h"
    const unsigned char *data;
    std::size_t size;
};

struct CompileRequest {
    std::string source_path;               // as the user named it; used in diagnostics
    std::vector<std::string> defines;      // NAME or NAME=VALUE
    std::vector<std::string> include_dirs; // searched before the runtime headers
    std::vector<VirtualHeader> runtime_headers;
    std::vector<std::string> warning_flags; // added after the defaults, e.g. -Wextra -Werror
    bool color = false;
};

struct CompileResult {
    bool ok = false;
    std::vector<std::uint8_t> object;   // ELF for the BPF target, with BTF
    std::string diagnostics;            // compiler output, in clang's format
    std::vector<std::string> inputs;    // every file read: source and headers (real or runtime)
};

// Where the runtime headers appear to the compiler (and in its diagnostics).
inline constexpr const char *runtime_include_dir = "/alfwrapper/include";

CompileResult compile_filter(const CompileRequest &request);

// Clang's version string, part of the cache key of compiled objects.
std::string compiler_version();

}  // namespace alf
