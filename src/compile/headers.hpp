// The runtime headers (runtime-headers/), embedded at build time and served
// from memory to the filter compiler.
#pragma once

#include "compile/compiler.hpp"

#include <vector>

namespace alf {

std::vector<VirtualHeader> runtime_headers();

// SHA-256 (hex) over the names and contents of the runtime headers,
// computed when alfwrapper was built.
const char *runtime_headers_digest();

}  // namespace alf
