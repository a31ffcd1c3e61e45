// --set MAP,KEY,VALUE: a value's text encoded by a BTF type. The first byte
// picks the map of typed_maps.c and whether its key or its value type.
#include "support.hpp"
#include "typed_maps.hpp"
#include "bpf/btf_values.hpp"

#include <bpf/libbpf.h>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    if (size == 0) return 0;
    FilterObject &filter = fuzz::typed_maps();
    const std::string &name = fuzz::typed_map_name(data[0] >> 1);
    bpf_map *map = filter.find_map(name);
    bool key = data[0] & 1;
    std::uint32_t type = key ? bpf_map__btf_key_type_id(map) : bpf_map__btf_value_type_id(map);
    std::size_t type_size = key ? bpf_map__key_size(map) : bpf_map__value_size(map);
    fuzz::refusals_allowed([&] {
        auto bytes = encode_btf_value(filter.btf(), type, type_size, fuzz::as_text(data + 1, size - 1),
                                      name + (key ? ".key" : ".value"));
        if (bytes.size() != type_size) std::abort();
    });
    return 0;
}
