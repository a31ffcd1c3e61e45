#include "compile/headers.hpp"

#include "compile/embedded.hpp"

namespace alf {

extern const EmbeddedFile alf_embedded_headers[];
extern const std::size_t alf_embedded_headers_count;
extern const char alf_embedded_headers_digest[];

std::vector<VirtualHeader> runtime_headers() {
    std::vector<VirtualHeader> headers;
    headers.reserve(alf_embedded_headers_count);
    for (std::size_t i = 0; i < alf_embedded_headers_count; ++i) {
        const auto &file = alf_embedded_headers[i];
        headers.push_back({file.path, file.data, file.size});
    }
    return headers;
}

const char *runtime_headers_digest() { return alf_embedded_headers_digest; }

}  // namespace alf
