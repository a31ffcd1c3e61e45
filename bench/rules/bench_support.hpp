// What the rule benchmarks (bench/rules, bench/live) share: their rule sets,
// medians, and timed runs of a program (alfwrapper, alfctl, ipset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <sys/types.h>
#include <string>
#include <vector>

namespace alf::bench {

// --- rule sets ----------------------------------------------------------------

// A chain of nested rules, allow and deny alternating, that decides for the
// probes 198.51.100.7 (/8 ... /32) and 2001:db8:1234:5678::7 (/32 ... /128):
// "deep in the trie". 198.51.100.6 and 2001:db8:1234:5678::6 fall one level
// short of the probes' own rules, so a deny decides for them as deep down.
extern const char *const chain_rules[];
extern const std::size_t chain_count;

struct RuleSetShape {
    // The random IPv4 prefixes within 100.64.0.0/10 and the IPv6 ones within
    // 2a00::/12, as real lists crowd into a few allocations.
    bool clustered = false;
    // Another seed, another set of the same shape.
    std::uint64_t seed = 42;
};

// n rules: the chain, then random prefixes (half IPv4 /16-/32, half IPv6
// /24-/64 and /128; a quarter deny) that stay clear of 198.0.0.0/8,
// 127.0.0.0/8 and 2001:db8::/32, so only the chain decides for the probes
// and nothing decides for loopback clients.
void generate_rules(std::size_t n, std::ostream &out, const RuleSetShape &shape = {});
void generate_rules(std::size_t n, const std::string &path, const RuleSetShape &shape = {});

// --- figures ------------------------------------------------------------------

double median(std::vector<double> values);

// "1,2,3" -> {1, 2, 3}
std::vector<std::size_t> parse_sizes(const std::string &text);

// The number after `label` in `text` ("read in 12.3 ms", "read in " -> 12.3);
// -1 when the label is not there.
double figure_after(const std::string &text, const std::string &label);

// --- programs -----------------------------------------------------------------

struct ChildRun {
    double wall_ms;
    long max_rss_kb;
    std::string stdout_text, stderr_text;
    int status;

    bool succeeded() const;
    // "PROGRAM failed (exit status 1):\nSTDERR"
    std::string failure(const std::string &program) const;
};

// Kills the process `pid` and the process group it leads, and reaps it;
// `pid` becomes -1. Nothing is done when it is not positive.
void kill_process_group(pid_t &pid);

// Runs `program` with `args` (no shell), its stdin /dev/null, and waits:
// the wall time from fork to its exit, its peak RSS and what it wrote.
// `scratch` is a directory for its output while it runs.
ChildRun run_program(const std::string &program, const std::vector<std::string> &args, const std::string &scratch);

}  // namespace alf::bench
