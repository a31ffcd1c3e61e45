// The runtime headers (runtime-headers/), embedded at build time and served
// from memory to the filter compiler.
#pragma once

#include "compiler.hpp"

#include <vector>

namespace alf {

std::vector<VirtualHeader> runtime_headers();

}  // namespace alf
