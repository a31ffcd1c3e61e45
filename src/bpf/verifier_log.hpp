// Reading the kernel verifier's log: where it stopped, why, and which limit
// (if any) the program broke. Text in, text out: no system calls.
//
// With BTF line info loaded, the kernel prints the source line above the
// instructions compiled from it ("; return *count; @ filter.c:14", the file
// by its base name). The last instruction printed before the reason is the
// one the verifier refused, and the last such comment above it its line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace alf {

struct SourceLine {
    std::string file;  // as the kernel printed it: a base name
    unsigned line = 0;
    std::string text;  // the source line, trimmed
};

struct VerifierSummary {
    std::optional<SourceLine> where;  // the rejected instruction's source line
    std::string instruction;          // that instruction as the verifier printed it
    std::optional<std::uint32_t> instruction_index;
    std::string reason;               // the verifier's own words (may be several lines)
    std::string limit;                // which of the kernel's limits was hit, for users; empty if none
};

VerifierSummary summarize_verifier_log(const std::string &log);

// The last `count` lines of text.
std::string last_lines(const std::string &text, std::size_t count);

}  // namespace alf
