#include "classic/classic_rules.hpp"

#include "common/error.hpp"
#include "common/unique_fd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

namespace alf {

namespace {

bool allows(std::uint8_t verdict, Verdict default_verdict) {
    Verdict v = static_cast<Verdict>(verdict);
    return (v == Verdict::none ? default_verdict : v) == Verdict::allow;
}

// Neighbours of one verdict merge: the program tests only the boundaries
// where the verdict changes.
template <typename Segment, typename Start>
std::vector<Segment> to_segments(const std::vector<Start> &starts, const std::vector<std::uint8_t> &verdicts,
                                 Verdict default_verdict, Segment (*make)(const std::vector<Start> &, std::size_t,
                                                                          bool)) {
    std::vector<Segment> segments;
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        bool allow = allows(verdicts[i], default_verdict);
        if (!segments.empty() && segments.back().allow == allow) continue;
        segments.push_back(make(starts, i, allow));
    }
    return segments;
}

ClassicSegment4 segment4(const std::vector<std::uint32_t> &starts, std::size_t i, bool allow) {
    return {starts[i], allow};
}

ClassicSegment6 segment6(const std::vector<std::uint64_t> &starts, std::size_t i, bool allow) {
    std::uint64_t hi = starts[2 * i], lo = starts[2 * i + 1];
    return {{static_cast<std::uint32_t>(hi >> 32), static_cast<std::uint32_t>(hi), static_cast<std::uint32_t>(lo >> 32),
             static_cast<std::uint32_t>(lo)},
            allow};
}

std::string rule_counts(const CompiledRules &compiled) {
    return std::to_string(compiled.ipv4_rules) + " IPv4 and " + std::to_string(compiled.ipv6_rules) + " IPv6 rules";
}

}  // namespace

ClassicRules compile_rules_classic(const RuleSet &set, const CompiledRules &compiled) {
    std::vector<std::uint32_t> starts4(compiled.ipv4_ranges);
    std::vector<std::uint8_t> verdicts4(compiled.ipv4_ranges);
    write_ranges4(set, compiled, starts4, verdicts4);
    std::vector<std::uint64_t> starts6(2 * compiled.ipv6_ranges);
    std::vector<std::uint8_t> verdicts6(compiled.ipv6_ranges);
    write_ranges6(set, compiled, starts6, verdicts6);

    ClassicRules rules;
    auto s4 = to_segments(starts4, verdicts4, compiled.default_verdict, segment4);
    auto s6 = to_segments(starts6, verdicts6, compiled.default_verdict, segment6);
    rules.ipv4_segments = s4.size();
    rules.ipv6_segments = s6.size();
    // Every boundary between segments costs at least one comparison: a rule
    // set far past the limit is refused before a tree is built for it.
    std::size_t at_least = s4.size() + s6.size() - 2;
    if (at_least > classic_max_instructions)
        throw Error("rules: " + rule_counts(compiled) + " need more than " + std::to_string(at_least) +
                    " classic BPF instructions; " + classic_limit_advice());
    rules.program = with_context("rules: " + rule_counts(compiled), [&] { return compile_classic(s4, s6); });
    return rules;
}

void check_classic(const ClassicProgram &program) {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) throw system_error("classic BPF check: cannot create a UDP socket", errno);
    sock_fprog fprog{static_cast<unsigned short>(program.instructions.size()),
                     const_cast<sock_filter *>(program.instructions.data())};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
        throw system_error("classic BPF check: the kernel refused the program (SO_ATTACH_FILTER)", errno);
}

std::uint32_t test_classic(const ClassicProgram &program, std::span<const std::uint8_t> frame) {
    constexpr std::size_t ethernet_header = 14;
    if (frame.size() < ethernet_header) return 0;
    std::uint16_t protocol = static_cast<std::uint16_t>(frame[12] << 8 | frame[13]);
    return run_classic(program.instructions, frame.subspan(ethernet_header), protocol);
}

}  // namespace alf
