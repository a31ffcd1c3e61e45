// The filter library as a user looks it up: each built-in filter's name,
// what it does and its maps, read from the objects embedded in the binary.
#pragma once

#include <string>

namespace alf {

// "  NAME   DESCRIPTION\n         maps: MAP (TYPE, N entries), ...\n" for every built-in filter.
std::string describe_builtin_filters();

}  // namespace alf
