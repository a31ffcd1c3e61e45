// alfctl's command line: verbs, the option table's part each takes, usage
// texts. No system calls.
#pragma once

#include "pipeline/configuration.hpp"

#include <optional>
#include <string>
#include <vector>

namespace alf {

enum class CtlVerb { none, compile, check, test, list, rules, stats, log, map, filters, headers };

// What alfctl is asked to do: the configuration alfwrapper would run the
// same filter with, and what the verb adds.
struct CtlCommand : Configuration {
    CtlVerb verb = CtlVerb::none;
    std::string output;                 // compile: -o; headers: the directory for compile_flags.txt
    std::vector<std::string> packets;   // test: the words after FILTER
    std::string pcap;                   // test: --pcap
    std::optional<std::string> expect;  // test: --expect pass|drop
    std::string service;                // list: only the services of this name; rules, stats, log, map: the service
    std::vector<std::string> action;    // rules: the action and its arguments; map: [MAP [ACTION ARGUMENT...]]
    std::string watch;                  // stats: --watch SECONDS
    std::string top_rules;              // stats: --rules N
    bool follow = false;                // log: --follow
};

// Parses argv; throws Error (exit status 1) naming the problem.
CtlCommand parse_ctl_command_line(int argc, const char *const argv[]);

// The overview (verb none) or one verb's help.
std::string ctl_usage_text(CtlVerb verb);

// alfctl test: every verdict matched what was expected (or nothing was).
inline constexpr int exit_verdict_mismatch = 3;

}  // namespace alf
