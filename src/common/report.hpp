// The one message sink: progress with -v, warnings unless -q, each line
// prefixed with the name of the tool that is running. Every stage reports
// through it; tests give it a sink of their own.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace alf {

enum class MessageLevel { info, warning, diagnostics };

struct Reporter {
    std::string program = "alfwrapper";  // the tool that is running: the prefix of every line
    bool verbose = false;
    bool quiet = false;
    // Where messages go; empty: stderr, as "PROGRAM: text" / "PROGRAM: warning: text".
    std::function<void(MessageLevel, const std::string &)> sink;

    void info(const std::string &text) const;
    void warning(const std::string &text) const;
    // A compiler's own messages ("file:line:col: warning: ..."), shown as
    // they are unless -q.
    void diagnostics(const std::string &text) const;
};

// Runs a program's body: an Error escaping it is printed once ("PROGRAM:
// message", with -v also its detail) and its exit status returned.
int run_reporting_errors(const Reporter &report, const std::function<int()> &body);

// Standard output and error through C stdio: alfctl's verbs for running
// services print only through these, so that alfctl never builds the C++
// stream library's locales (about a fifth of a millisecond at each start).
// Neither alfctl nor alfwrapper links anything that includes <iostream>
// (tests/layering checks).
void print_out(std::string_view text);
void print_err(std::string_view text);
// Flushes standard output (a --follow or --watch line as it comes).
void flush_out();
// C++ streams over the same stdio streams (what goes through them and
// through print_out keeps its order), for the verbs that format with
// operator<< (help, --dry-run, alfctl's workbench). They stand in for
// std::cout and std::cerr, whose header (<iostream>) builds the stream
// library's locales at every start of the program, a launch included; these
// build them when first used.
std::ostream &out();
std::ostream &err();

// Whether stderr is a terminal that wants colour (and NO_COLOR is not set).
bool stderr_wants_color();

}  // namespace alf
