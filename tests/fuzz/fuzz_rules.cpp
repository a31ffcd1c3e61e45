// --allow/--deny CIDRs and --rules-file: the file is parsed, compiled to
// ranges, and every rule is checked against the ranges it compiled to.
// The first line is also taken as a CIDR alone, and a subnet read back from
// its own formatting must be the same subnet.
#include "support.hpp"
#include "common/net_address.hpp"
#include "inputs/rules.hpp"

#include <cstdlib>

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
