// Files embedded into the binary at build time (see cmake/Embed.cmake).
#pragma once

#include <cstddef>

namespace alf {

struct EmbeddedFile {
    const char *path;  // relative to the embedded directory
    const unsigned char *data;
    std::size_t size;
};

}  // namespace alf
