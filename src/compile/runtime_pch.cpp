#include "compile/runtime_pch.hpp"

#include "compile/embedded.hpp"

namespace alf {

extern const EmbeddedFile alf_embedded_pch[];
extern const std::size_t alf_embedded_pch_count;

std::span<const unsigned char> runtime_pch() {
    if (alf_embedded_pch_count == 0) return {};
    return {alf_embedded_pch[0].data, alf_embedded_pch[0].size};
}

}  // namespace alf
