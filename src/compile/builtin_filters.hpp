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

}  // namespace alf
