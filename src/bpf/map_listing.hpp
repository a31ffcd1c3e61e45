// A filter's maps as C-like declarations, the way a filter declares them
// (libbpf style), with the struct, union and enum types they use: what
// --list-maps and the dry run print.
#pragma once

#include <string>

namespace alf {

class FilterObject;

std::string describe_maps(const FilterObject &filter);

}  // namespace alf
