// One error type for everything that stops alfwrapper before the exec: a
// message for the user, context added where it is known, and the exit status
// main() will use.
#pragma once

#include <stdexcept>
#include <string>

namespace alf {

enum ExitStatus : int {
    exit_usage = 1,           // bad command line or input
    exit_system = 2,          // the system refused (socket, bpf, exec setup)
    exit_not_executable = 126,
    exit_not_found = 127,
};

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message, int exit_status = exit_usage)
        : std::runtime_error(message), exit_status_(exit_status) {}

    int exit_status() const { return exit_status_; }

    // Longer text (a whole verifier log) that main() shows with --verbose.
    const std::string &detail() const { return detail_; }
    Error &&with_detail(std::string detail) && {
        detail_ = std::move(detail);
        return std::move(*this);
    }

    // The same error, its message prefixed by where it happened ("map allow4: ").
    Error with_context(const std::string &context) const {
        Error e(context + ": " + what(), exit_status_);
        e.detail_ = detail_;
        return e;
    }

private:
    int exit_status_;
    std::string detail_;
};

// An Error for a failed system call: "what: strerror(err)", exit status 2.
Error system_error(const std::string &what, int err);

// Runs fn(); an Error escaping it gets `context` prefixed.
template <typename Fn>
auto with_context(const std::string &context, Fn &&fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const Error &e) {
        throw e.with_context(context);
    }
}

}  // namespace alf
