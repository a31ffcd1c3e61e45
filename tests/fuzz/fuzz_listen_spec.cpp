// --listen SPEC, --fdname NAMES and the seed's --address/--port/--type.
// First line: a listen spec; with three lines, the seed form too.
#include "support.hpp"
#include "launch/listen_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::string_view text = fuzz::as_text(data, size);
    std::vector<std::string> lines = fuzz::split_lines(text);
    std::vector<ListenSpec> specs;
    fuzz::refusals_allowed([&] { specs.push_back(parse_listen_spec(lines.empty() ? "" : lines[0])); });
    if (lines.size() == 3)
        fuzz::refusals_allowed([&] { specs.push_back(seed_listen_spec(lines[0], lines[1], lines[2])); });
    fuzz::refusals_allowed([&] { apply_fd_names(specs, parse_fd_names(lines)); });
    return 0;
}
