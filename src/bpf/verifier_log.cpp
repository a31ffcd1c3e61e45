#include "bpf/verifier_log.hpp"

#include "common/util.hpp"
#include <cctype>
#include <charconv>
#include <vector>

namespace alf {

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Leading decimal digits followed by `after`: "12: (61) ..." -> 12.
bool starts_with_number(std::string_view line, std::string_view after) {
    std::size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    return digits > 0 && line.substr(digits).starts_with(after);
}

// "12: (61) r1 = *(u32 *)(r0 +0)   ; R1=..." is an instruction; "12: R1=..." is a state.
bool is_instruction(std::string_view line) { return starts_with_number(line, ": ("); }
bool is_state(std::string_view line) {
    // "cur state:"/"old state:" follow "infinite loop detected": states, not reasons.
    return starts_with_number(line, ": R") || starts_with_number(line, ": frame") || line.starts_with("from ") ||
           line.starts_with("cur state:") || line.starts_with("old state:");
}

std::string_view instruction_text(std::string_view line) {
    auto state = line.find("  ;");
    return trim(line.substr(0, state));
}

// "; return *count; @ filter.c:14"
std::optional<SourceLine> parse_source_comment(std::string_view line) {
    if (!line.starts_with("; ")) return std::nullopt;
    auto at = line.rfind(" @ ");
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view where = line.substr(at + 3);
    auto colon = where.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    unsigned number = 0;
    auto digits = where.substr(colon + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return SourceLine{std::string(where.substr(0, colon)), number, std::string(trim(line.substr(2, at - 2)))};
}

bool ends_the_log(std::string_view line) {
    return line.starts_with("processed ") || line.starts_with("verification time") || line.starts_with("stack depth");
}

// "processed 1000001 insns (limit 1000000) ..." -> "1000000"
std::string processed_limit(const std::vector<std::string_view> &lines) {
    for (auto line : lines) {
        if (!line.starts_with("processed ")) continue;
        auto open = line.find("(limit ");
        if (open == std::string_view::npos) continue;
        auto close = line.find(')', open);
        return std::string(line.substr(open + 7, close - open - 7));
    }
    return "1000000";
}

std::string describe_limit(const std::string &reason, const std::vector<std::string_view> &lines) {
    if (reason.find("BPF program is too large") != std::string::npos)
        return "the program is too complex: the verifier examines at most " + processed_limit(lines) +
               " instructions, counting every path through the program and every loop iteration again, and "
               "gave up here; bound loops more tightly, move work into bpf_loop() callbacks, or split the filter";
    if (reason.find("jumps is too complex") != std::string::npos)
        return "the program is too complex: the verifier keeps at most 8192 branches waiting to be examined, and "
               "gave up here; branches inside long loops multiply, so bound loops more tightly or use bpf_loop()";
    if (reason.find("stack size") != std::string::npos && reason.find("oo large") != std::string::npos)
        return "the program uses too much stack: 512 bytes at most, across nested function calls";
    return {};
}

}  // namespace

std::string last_lines(const std::string &text, std::size_t count) {
    if (count == 0) return {};
    std::size_t start = text.size();
    if (start && text[start - 1] == '\n') --start;  // the final newline ends the last line, it starts none
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
        if (newline == std::string::npos) return text;
        start = newline;
    }
    return text.substr(start + 1);
}

VerifierSummary summarize_verifier_log(const std::string &log) {
    VerifierSummary summary;
    auto lines = split_lines(log);
    std::size_t end = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (ends_the_log(lines[i])) {
            end = i;
            break;
        }

    std::size_t last_instruction = end;
    for (std::size_t i = end; i-- > 0;)
        if (is_instruction(lines[i])) {
            last_instruction = i;
            break;
        }

    std::vector<std::string_view> reason_lines;
    std::size_t reason_from = last_instruction == end ? 0 : last_instruction + 1;
    for (std::size_t i = reason_from; i < end; ++i) {
        auto line = trim(lines[i]);
        if (line.empty() || line.starts_with(";") || is_state(line) || is_instruction(line)) continue;
        reason_lines.push_back(line);
    }
    // Without instructions (BTF or set-up errors) the last words say it.
    if (last_instruction == end && reason_lines.size() > 3)
        reason_lines.erase(reason_lines.begin(), reason_lines.end() - 3);
    summary.reason = join(reason_lines, "\n");

    if (last_instruction != end) {
        summary.instruction = std::string(instruction_text(lines[last_instruction]));
        std::uint32_t index = 0;
        std::from_chars(lines[last_instruction].data(), lines[last_instruction].data() + lines[last_instruction].size(),
                        index);
        summary.instruction_index = index;
        for (std::size_t i = last_instruction; i-- > 0;)
            if (auto source = parse_source_comment(lines[i])) {
                summary.where = std::move(source);
                break;
            }
    }
    summary.limit = describe_limit(summary.reason, lines);
    return summary;
}

}  // namespace alf
