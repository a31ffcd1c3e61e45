// The filter compiler: restricted C -> BPF ELF object, in the calling process
// (compile_process.hpp runs it in one of its own).
// The only module that includes Clang/LLVM headers (they are slow to compile
// and leak macros); its interface is plain C++.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

struct VirtualHeader {
    std::string path;  // relative to the runtime include directory, e.g. "linux/bpf.h"
    const unsigned char *data;
    std::size_t size;
};

// How much the optimizer does. `full` is clang's -O2. `fast` inlines,
// promotes locals to registers, simplifies and unrolls loops, and skips the
// rest of -O2: a launch compiles about twice as fast, the program comes out a
// little longer. A program the verifier rejects at `fast` may still load at
// `full` (-O2 proves more facts the verifier needs), so callers retry.
enum class Optimization { fast, full };

inline const char *optimization_name(Optimization optimization) {
    return optimization == Optimization::fast ? "fast" : "full";
}

struct CompileRequest {
    std::string source_path;               // as the user named it; used in diagnostics
    std::vector<std::string> defines;      // NAME or NAME=VALUE
    std::vector<std::string> include_dirs; // searched before the runtime headers
    std::vector<VirtualHeader> runtime_headers;
    // The runtime headers precompiled (precompile_runtime_headers), or empty.
    // Used for a source whose first line of code is #include
    // <alfwrapper/filter.h>, when the request has no defines, include
    // directories or warning flags (which could change what the headers
    // mean or say); the object is the one compiling without it gives.
    std::span<const unsigned char> runtime_pch;
    std::vector<std::string> warning_flags; // added after the defaults, e.g. -Wextra -Werror
    // The drop log's functions of <alfwrapper/stats.h> declared only
    // (ALF_LOG_PRECOMPILED), to be linked in afterwards from the library
    // compiled with alfwrapper (log_library.hpp). The runtime headers are
    // precompiled so, and used only for such a compile.
    bool precompiled_log = false;
    Optimization optimization = Optimization::full;
    bool color = false;
    // Bounds of one compile (0: none); past one, the process ends with a
    // message naming it. Measured: the library's filters compile in under
    // 50 ms and 100 MiB.
    unsigned time_limit_seconds = 60;
    std::uint64_t memory_limit_mib = 4096;
    // The process ends soon after (a tool's one or two compiles): what the
    // compiler built is not freed, which would only cost time.
    bool keep_memory = false;
    // The fast optimizer's compile split in two, each half on one CPU: the
    // programs in one object, the filter's static BPF functions (bpf_loop
    // callbacks, functions kept apart) in another, which the caller links
    // (CompileResult::more_objects). Where there are none, or the split
    // cannot be made, one object as without it.
    bool split_functions = false;
};

// A file of the real file system the compiler looked for. The runtime
// headers, served from memory, are not listed.
struct CompileInput {
    enum class Kind { read, exists, absent };
    std::string path;     // absolute
    Kind kind = Kind::absent;
    std::string content;  // for `read`: the bytes the compiler read
    bool operator==(const CompileInput &) const = default;
};

struct CompileResult {
    bool ok = false;
    std::vector<std::uint8_t> object;   // ELF for the BPF target, with BTF
    std::string diagnostics;            // compiler output, in clang's format
    std::vector<CompileInput> inputs;   // every real file (or directory) it read or looked for
    bool from_runtime_pch = false;      // started from the precompiled runtime headers
    // A split compile (CompileRequest::split_functions): the object of the
    // BPF functions other than the programs, to be linked with `object`,
    // and their names: hidden globals in the objects, to be made static in
    // the linked one's BTF, as a filter compiled whole has them.
    std::vector<std::vector<std::uint8_t>> more_objects;
    std::vector<std::string> hidden_functions;
};

// Where the runtime headers appear to the compiler (and in its diagnostics).
inline constexpr const char *runtime_include_dir = "/alfwrapper/include";

CompileResult compile_filter(const CompileRequest &request);

// How a compile that cannot go on (the compiler's own failure, a bound of
// the request passed) ends the process: by default it prints
// "PROGRAM: MESSAGE" and exits with STATUS. A process that compiles for
// another (compile_filter_apart) hands the message on instead. Must not
// return, nor allocate (it may end a compile out of memory).
using CompileEnd = void (*)(const char *message, int status);
void set_compile_end(CompileEnd end);

// <alfwrapper/filter.h> and everything it includes, parsed once: a build
// step writes it to `output` (a precompiled header), and the binaries embed
// it. A compile that uses it skips parsing ~100 KB of headers. False, with
// the compiler's messages in `diagnostics`, when it cannot be made.
bool precompile_runtime_headers(const std::vector<VirtualHeader> &headers, const std::string &output,
                                std::string &diagnostics);

// A source's first line of code (after blank lines and comments), when it
// is an #include alone: the name, and whether it was written <...> or "...".
struct FirstInclude {
    std::string_view name;
    bool angled = false;
};
std::optional<FirstInclude> first_include(std::string_view source);

// Whether that line is #include <alfwrapper/filter.h>: the compile of such a
// source (or of one whose first line includes such a file beside it) may
// start from the precompiled runtime headers.
bool begins_with_runtime_include(std::string_view source);

// The compiler driver's flags that make an editor's clang (clangd) parse a
// filter as compile_filter() does, with the runtime headers in `include_dir`.
std::vector<std::string> editor_flags(const std::string &include_dir);

// Identifies everything in the compiler that shapes an object: clang's
// version and the options and passes chosen here. Part of the cache key.
std::string compiler_version();

}  // namespace alf
