// The filter of typed_maps.c, compiled when the fuzzers are built and
// embedded in them: its maps' BTF types are what --set values are encoded to.
#pragma once

#include "bpf/filter_object.hpp"

#include <cstdint>
#include <string>

namespace alf::fuzz {

// Opened (not loaded) once per process.
FilterObject &typed_maps();

// One of the filter's maps, chosen by a byte of the input.
const std::string &typed_map_name(std::uint8_t choice);

}  // namespace alf::fuzz
