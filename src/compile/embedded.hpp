// Files embedded into the binary at build time (see cmake/Embed.cmake).
#pragma once

#include <cstddef>
#include <span>

namespace alf {

struct EmbeddedFile {
    const char *path;  // relative to the embedded directory
    const unsigned char *data;
    std::size_t size;
};

// The bytes of the one file of a set embedded as one (the precompiled
// headers, the log library); empty in a build without it.
inline std::span<const unsigned char> only_embedded(const EmbeddedFile *files, std::size_t count) {
    return count == 0 ? std::span<const unsigned char>() : std::span<const unsigned char>(files[0].data, files[0].size);
}

}  // namespace alf
