#include "common/report.hpp"

#include "common/error.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace alf {

void print_out(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void print_err(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stderr); }

void flush_out() { std::fflush(stdout); }

namespace {

// A stream buffer that hands every character to a stdio stream at once, so
// that what goes through it and what print_out writes keep their order.
class StdioBuffer : public std::streambuf {
public:
    explicit StdioBuffer(std::FILE *file) : file_(file) {}

protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        return std::fputc(traits_type::to_char_type(c), file_) == EOF ? traits_type::eof() : c;
    }
    std::streamsize xsputn(const char *text, std::streamsize n) override {
        return static_cast<std::streamsize>(std::fwrite(text, 1, static_cast<std::size_t>(n), file_));
    }
    int sync() override { return std::fflush(file_) == 0 ? 0 : -1; }

private:
    std::FILE *file_;
};

}  // namespace

std::ostream &out() {
    static StdioBuffer buffer(stdout);
    static std::ostream stream(&buffer);
    return stream;
}

std::ostream &err() {
    static StdioBuffer buffer(stderr);
    static std::ostream stream(&buffer);
    return stream;
}

void Reporter::info(const std::string &text) const {
    if (!verbose) return;
    if (sink) sink(MessageLevel::info, text);
    else print_err(program + ": " + text + "\n");
}

void Reporter::warning(const std::string &text) const {
    if (quiet) return;
    if (sink) sink(MessageLevel::warning, text);
    else print_err(program + ": warning: " + text + "\n");
}

void Reporter::diagnostics(const std::string &text) const {
    if (quiet) return;
    if (sink) sink(MessageLevel::diagnostics, text);
    else print_err(text);
}

namespace {

// A message quotes the input it is about; a huge input (a 10 MB rules line,
// a 100 KB argument) must not come back whole. Lines are kept to their
// first and last bytes.
std::string bounded_lines(std::string_view text, std::size_t limit = 1000) {
    std::string out;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (line.size() > limit)
            out += std::string(line.substr(0, limit - 100)) + " ...[" + std::to_string(line.size() - limit + 60) +
                   " bytes left out]... " + std::string(line.substr(line.size() - 40));
        else
            out += line;
        if (end == std::string_view::npos) break;
        out += '\n';
        text.remove_prefix(end + 1);
    }
    return out;
}

}  // namespace

int run_reporting_errors(const Reporter &report, const std::function<int()> &body) {
    try {
        return body();
    } catch (const Error &e) {
        print_err(report.program + ": " + bounded_lines(e.what()) + "\n");
        if (report.verbose && !e.detail().empty()) print_err(e.detail());
        return e.exit_status();
    } catch (const std::exception &e) {
        print_err(report.program + ": internal error: " + bounded_lines(e.what()) + "\n");
        return exit_system;
    }
}

bool stderr_wants_color() {
    const char *term = std::getenv("TERM");
    return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") && term && std::string(term) != "dumb";
}

}  // namespace alf
