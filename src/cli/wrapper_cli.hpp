// alfwrapper's command line: the option table's alfwrapper part, the split
// between alfwrapper's options and PROGRAM's, --config, the usage text. No
// system calls here.
#pragma once

#include "pipeline/configuration.hpp"

#include <string>

namespace alf {

// Parses argv (and the --config file, which the command line overrides);
// throws Error (exit status 1) with a message naming the problem.
Configuration parse_wrapper_command_line(int argc, const char *const argv[]);

std::string wrapper_usage_text();

}  // namespace alf
