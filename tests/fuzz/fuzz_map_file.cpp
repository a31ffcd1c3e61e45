// --set-file MAP=PATH: the file's entries read (as text lines or JSON) and
// encoded by the map's BTF types, as before a load. The first byte picks the
// map of typed_maps.c and whether the file is named *.json.
#include "support.hpp"
#include "typed_maps.hpp"
#include "inputs/map_entries.hpp"
#include "inputs/map_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    if (size == 0) return 0;
    const std::string &map = fuzz::typed_map_name(data[0] >> 1);
    std::string path = fuzz::input_file(data[0] & 1 ? "entries.json" : "entries.txt", fuzz::as_text(data + 1, size - 1));
    fuzz::refusals_allowed([&] {
        std::vector<MapSetting> settings = read_map_file(map + "=" + path);
        encode_map_settings(fuzz::typed_maps(), settings, {});
    });
    return 0;
}
