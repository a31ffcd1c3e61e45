// alfctl headers: an editor set up to check filters as alfwrapper compiles
// them, against the runtime headers installed beside the executable.
#pragma once

#include <string>
#include <vector>

namespace alf {

// PREFIX/share/alfwrapper/include for an executable in PREFIX/bin; throws
// Error when the headers are not there (an executable that was not installed).
std::string installed_headers_dir();

// The headers (relative paths) whose copy in `dir` is missing or differs from
// the one built into the executable.
std::vector<std::string> headers_differing(const std::string &dir);

// Writes DIRECTORY/compile_flags.txt, the flags of the embedded compiler for
// clangd, and returns its path. An existing file with other flags is the
// user's: refused with an Error.
std::string write_compile_flags(const std::string &directory, const std::string &include_dir);

}  // namespace alf
