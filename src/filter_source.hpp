// Getting the filter's BPF object: compile a .c in-process, or read a .o.
#pragma once

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

struct FilterBytes {
    std::vector<std::uint8_t> object;
    std::string warnings;  // compiler warnings, to show the user
    bool compiled = false;
    bool builtin = false;  // from the library embedded at build time
    double compile_ms = 0;
};

// Throws Error with the compiler's diagnostics (real path, line, caret).
FilterBytes obtain_filter_object(const FilterSource &source, bool color);

// Reads a whole file; throws Error naming the file and `what` it is.
std::vector<std::uint8_t> read_file_bytes(const std::string &path, const std::string &what);

}  // namespace alf
