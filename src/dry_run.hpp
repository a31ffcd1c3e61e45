// --dry-run: what the hand-off would do, for a person or (--json) a program.
#pragma once

#include "handoff.hpp"

#include <ostream>
#include <string>

namespace alf {

class FilterObject;

// The sockets with the fds and names they would get, the filter with its
// maps' entry counts, the user, the environment changes and the command line.
void print_dry_run(std::ostream &out, const HandOff &handoff, const std::string &program_path,
                   const FilterObject &filter, bool json);

}  // namespace alf
