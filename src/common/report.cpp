#include "common/report.hpp"

#include "common/error.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace alf {

void Reporter::info(const std::string &text) const {
    if (!verbose) return;
    if (sink) sink(MessageLevel::info, text);
    else std::cerr << program << ": " << text << "\n";
}

void Reporter::warning(const std::string &text) const {
    if (quiet) return;
    if (sink) sink(MessageLevel::warning, text);
    else std::cerr << program << ": warning: " << text << "\n";
}

void Reporter::diagnostics(const std::string &text) const {
    if (quiet) return;
    if (sink) sink(MessageLevel::diagnostics, text);
    else std::cerr << text;
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
