#include "compile/runtime_pch.hpp"

#include "compile/embedded.hpp"

namespace alf {

extern const EmbeddedFile alf_embedded_pch[];
extern const std::size_t alf_embedded_pch_count;

std::span<const unsigned char> runtime_pch() { return only_embedded(alf_embedded_pch, alf_embedded_pch_count); }

}  // namespace alf
