// Messages for the user on stderr: progress with -v, warnings unless -q.
#pragma once

#include "filter_source.hpp"

#include <functional>
#include <string>

namespace alf {

struct Reporter {
    std::string program = "alfwrapper";  // the prefix of every line
    bool verbose = false;
    bool quiet = false;

    void info(const std::string &text) const;
    void warning(const std::string &text) const;
    // The reporter as the Messages the build steps take.
    Messages messages() const;
};

// Runs a program's body: an Error escaping it is printed once ("PROGRAM:
// message", with -v also its detail) and its exit status returned.
int run_reporting_errors(const Reporter &report, const std::function<int()> &body);

// Whether stderr is a terminal that wants colour (and NO_COLOR is not set).
bool stderr_wants_color();

}  // namespace alf
