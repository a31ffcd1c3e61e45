#include "report.hpp"

#include "error.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace alf {

void Reporter::info(const std::string &text) const {
    if (verbose) std::cerr << program << ": " << text << "\n";
}

void Reporter::warning(const std::string &text) const {
    if (!quiet) std::cerr << program << ": warning: " << text << "\n";
}

Messages Reporter::messages() const {
    return {.info = [this](const std::string &text) { info(text); },
            .warning = [this](const std::string &text) { warning(text); }};
}

int run_reporting_errors(const Reporter &report, const std::function<int()> &body) {
    try {
        return body();
    } catch (const Error &e) {
        std::cerr << report.program << ": " << e.what() << "\n";
        if (report.verbose && !e.detail().empty()) std::cerr << e.detail();
        return e.exit_status();
    } catch (const std::exception &e) {
        std::cerr << report.program << ": internal error: " << e.what() << "\n";
        return exit_system;
    }
}

bool stderr_wants_color() {
    const char *term = std::getenv("TERM");
    return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") && term && std::string(term) != "dumb";
}

}  // namespace alf
