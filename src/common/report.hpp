// The one message sink: progress with -v, warnings unless -q, each line
// prefixed with the name of the tool that is running. Every stage reports
// through it; tests give it a sink of their own.
#pragma once

#include <functional>
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
// stream library's locales (about a fifth of a millisecond at each start;
// nothing it links includes <iostream>, tests/layering checks). Where
// std::cout is used too (alfwrapper's other verbs), the order holds: the
// standard streams are synchronised with stdio.
void print_out(std::string_view text);
void print_err(std::string_view text);
// Flushes standard output (a --follow or --watch line as it comes).
void flush_out();

// Whether stderr is a terminal that wants colour (and NO_COLOR is not set).
bool stderr_wants_color();

}  // namespace alf
