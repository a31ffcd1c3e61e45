// --allow/--deny CIDRs and --rules-file: the file is parsed, compiled to
// ranges, and every rule is checked against the ranges it compiled to.
// The first line is also taken as a CIDR alone, and a subnet read back from
// its own formatting must be the same subnet.
#include "support.hpp"
#include "common/net_address.hpp"
#include "inputs/rules.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::string_view text = fuzz::as_text(data, size);
    std::string first_line(text.substr(0, text.find('\n')));

    fuzz::refusals_allowed([&] {
        Subnet subnet = parse_subnet(first_line);
        Subnet again = parse_subnet(format_subnet(subnet));
        if (again.address != subnet.address || again.prefix_len != subnet.prefix_len || again.host_bits_cleared)
            std::abort();
    });

    // Plain lines are read by a quick way of their own; a '#' at the end of
    // every line (what is before a comment is what the reader judges) sends
    // them all the general way: both must give the same rules, warnings and
    // error.
    auto read_file = [](std::string_view content, RuleSet &into) {
        try {
            read_rules_file(into, fuzz::input_file("fuzz.rules", content));
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    std::string commented;
    for (std::size_t at = 0; at <= text.size();) {
        std::size_t newline = std::min(text.find('\n', at), text.size());
        commented.append(text.substr(at, newline - at)).append(newline < text.size() ? "#\n" : "#");
        at = newline + 1;
    }
    RuleSet quick, general;
    std::string quick_error = read_file(text, quick), general_error = read_file(commented, general);
    auto same = [](const Rule &a, const Rule &b) {
        return a.hi == b.hi && a.lo == b.lo && a.prefix_len == b.prefix_len && a.verdict == b.verdict &&
               a.line == b.line && a.source == b.source;
    };
    if (quick_error != general_error || quick.warnings != general.warnings ||
        !std::equal(quick.rules.begin(), quick.rules.end(), general.rules.begin(), general.rules.end(), same))
        std::abort();

    RuleSet set;
    fuzz::refusals_allowed([&] { add_rule(set, Verdict::deny, first_line, 1); });
    fuzz::refusals_allowed([&] { read_rules_file(set, fuzz::input_file("fuzz.rules", text)); });
    CompiledRules compiled = compile_rules(set);
    std::vector<std::uint32_t> starts4(compiled.ipv4_ranges);
    std::vector<std::uint8_t> verdicts4(compiled.ipv4_ranges);
    std::vector<std::uint64_t> starts6(2 * compiled.ipv6_ranges);
    std::vector<std::uint8_t> verdicts6(compiled.ipv6_ranges);
    write_ranges4(set, compiled, starts4, verdicts4);
    write_ranges6(set, compiled, starts6, verdicts6);

    // A rule's own first address gets a verdict; the most specific rule there decides it.
    for (const Rule &rule : set.rules) {
        Verdict verdict = rule.is_ipv4() ? lookup_ranges4(starts4, verdicts4, static_cast<std::uint32_t>(rule.lo))
                                         : lookup_ranges6(starts6, verdicts6, rule.hi, rule.lo);
        if (verdict == Verdict::none) std::abort();
    }
    return 0;
}
