// The runtime headers precompiled at build time (build_filter --runtime-pch),
// embedded: compile_filter starts from them (CompileRequest::runtime_pch).
#pragma once

#include <span>

namespace alf {

std::span<const unsigned char> runtime_pch();

}  // namespace alf
