// --config FILE.json through alfwrapper's command line: the file's settings
// merged with the command line's into one configuration.
#include "support.hpp"
#include "cli/wrapper_cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::string path = fuzz::input_file("config.json", fuzz::as_text(data, size));
    const char *argv[] = {"alfwrapper", "--config", path.c_str(), "--verbose", nullptr};
    fuzz::refusals_allowed([&] { parse_wrapper_command_line(4, argv); });
    return 0;
}
