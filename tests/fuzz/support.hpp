// What the fuzz targets share. A parser may refuse an input only with
// alf::Error (the message a user sees); any other exception escapes the
// target and counts as a crash, as do the sanitizers' reports.
#pragma once

#include "common/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace alf::fuzz {

inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
    return {reinterpret_cast<const char *>(data), size};
}

// The input's lines, for parsers that take several arguments.
std::vector<std::string> split_lines(std::string_view text);

// Writes the input to a file named `name` in a directory of this process's
// own (removed at exit) and returns its path: for parsers that read files.
std::string input_file(const std::string &name, std::string_view content);

// Runs fn, accepting a refusal by alf::Error.
template <typename Fn>
void refusals_allowed(Fn &&fn) {
    try {
        fn();
    } catch (const Error &) {
    }
}

}  // namespace alf::fuzz
