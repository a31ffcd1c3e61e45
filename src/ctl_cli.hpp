// alfctl's command line: verbs, their options, usage texts. No system calls.
#pragma once

#include "cli.hpp"

#include <optional>
#include <string>
#include <vector>

namespace alf {

enum class CtlVerb { none, compile, check, test };

struct CtlOptions {
    CtlVerb verb = CtlVerb::none;
    std::string filter;                    // .c, .o
    std::string output;                    // compile: -o
    std::string program;                   // --program
    std::vector<std::string> sets;         // --set MAP,KEY,VALUE
    std::vector<std::string> set_files;    // --set-file MAP=PATH
    std::vector<std::string> map_sizes;    // --map-size MAP=N
    std::vector<std::string> allow;        // --allow CIDR
    std::vector<std::string> deny;         // --deny CIDR
    std::vector<std::string> rules_files;  // --rules-file PATH
    bool classic = false;                  // --classic: the rules as classic BPF
    bool ebpf = false;                     // --ebpf
    std::vector<std::string> defines;      // -D
    std::vector<std::string> include_dirs; // -I
    std::string cache_dir;
    bool no_cache = false;
    std::vector<std::string> packets;      // test: the words after FILTER
    std::string pcap;                      // test: --pcap
    std::optional<std::string> expect;     // test: --expect pass|drop
    bool json = false;                     // test: --json
    bool verbose = false;
    bool quiet = false;
    bool help = false;                     // help for `verb` (or the overview)
    bool version = false;
};

// Parses argv; throws Error (exit status 1) naming the problem.
CtlOptions parse_ctl_command_line(int argc, const char *const argv[]);

// The options alfwrapper would run the same filter with: what check and
// test hand to the filter's inputs and to the choice of back end.
Options wrapper_options(const CtlOptions &options);

// The overview (verb none) or one verb's help.
std::string ctl_usage_text(CtlVerb verb);

// alfctl test: every verdict matched what was expected (or nothing was).
inline constexpr int exit_verdict_mismatch = 3;

}  // namespace alf
