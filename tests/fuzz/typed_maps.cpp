#include "typed_maps.hpp"

#include "compile/embedded.hpp"

#include <span>
#include <vector>

namespace alf {
extern const EmbeddedFile alf_fuzz_typed_maps[];
}

namespace alf::fuzz {

FilterObject &typed_maps() {
    static FilterObject *filter = new FilterObject(FilterObject::open(
        std::span(alf_fuzz_typed_maps[0].data, alf_fuzz_typed_maps[0].size), "typed_maps.c"));
    return *filter;
}

const std::string &typed_map_name(std::uint8_t choice) {
    static const std::vector<std::string> names = {"records", "subnets4", "addresses", "ports", "colours",
                                                   "signed_keys", "names", "matrix", "ranges"};
    return names[choice % names.size()];
}

}  // namespace alf::fuzz
