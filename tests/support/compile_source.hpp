// A filter's source compiled in-process with the embedded runtime headers:
// by alfctl compile's -O2 unless `optimization` says fast, alfwrapper's.
#pragma once

#include "compile/compiler.hpp"

#include <string>
#include <string_view>

namespace alf {

// The file at `path` as it is (its own includes found beside it).
CompileResult compile_file_in_place(const std::string &path, Optimization optimization = Optimization::full);

// Writes `source` to `path` first, so diagnostics and line info name it.
CompileResult compile_source_file(const std::string &path, std::string_view source,
                                  Optimization optimization = Optimization::full);

}  // namespace alf
