// The filter library (filters/*.c), compiled when alfwrapper was built and
// embedded as BPF objects: `-f NAME` needs no compiler run and no file.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace alf {

// The object of built-in filter `name`, or nullopt.
std::optional<std::span<const std::uint8_t>> find_builtin_filter(const std::string &name);

std::vector<std::string> builtin_filter_names();

struct BuiltinFilterDescription {
    const char *name;
    const char *description;
};

// What the built-in filter does, in one line: the first line of its source,
// "/* NAME: DESCRIPTION". Empty for an unknown name.
std::string builtin_filter_description(const std::string &name);

}  // namespace alf
