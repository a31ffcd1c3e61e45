// --set MAP,KEY,VALUE: a value's text encoded by a BTF type. The first byte
// picks the map of typed_maps.c and whether its key or its value type. What
// was encoded is decoded (alfctl map shows it so) and must encode, from the
// decoded text, to the same bytes.
#include "support.hpp"
#include "typed_maps.hpp"
#include "bpf/btf_values.hpp"

#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

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
    std::vector<std::uint8_t> bytes;
    fuzz::refusals_allowed([&] {
        bytes = encode_btf_value(filter.btf(), type, type_size, fuzz::as_text(data + 1, size - 1),
                                 name + (key ? ".key" : ".value"));
        if (bytes.size() != type_size) std::abort();
    });
    if (bytes.empty()) return 0;
    // Not refused: the decoded text must encode, and to the same bytes (an
    // Error escaping here is a crash too).
    std::string shown = setting_text(decode_btf_value(filter.btf(), type, bytes));
    if (encode_btf_value(filter.btf(), type, type_size, shown, "decoded") != bytes) std::abort();
    return 0;
}
