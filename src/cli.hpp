// The command line: options, usage text. No system calls here.
#pragma once

#include "map_entries.hpp"

#include <optional>
#include <string>
#include <vector>

namespace alf {

struct Options {
    std::string filter;                // .c, .o
    std::string program;               // --program: which program in the object
    std::string address = "::";
    std::string port = "4242";
    std::string type = "SOCK_STREAM";
    std::vector<std::string> sets;     // MAP,KEY,VALUE
    std::vector<std::string> set_files;  // MAP=PATH
    std::vector<std::string> map_sizes;  // MAP=N
    std::vector<std::string> allow;      // CIDR
    std::vector<std::string> deny;       // CIDR
    std::vector<std::string> rules_files;
    std::string config;                  // --config FILE.json (already merged in)
    std::vector<MapSetting> map_entries; // the config file's "maps"
    std::vector<std::string> defines;  // -D
    std::vector<std::string> include_dirs;
    std::string cache_dir;             // --cache-dir; empty: the default
    std::vector<std::string> command;  // PROGRAM [ARGS...]
    bool seed_socket = false;          // --address, --port or --type given
    std::vector<std::string> listens;  // --listen SPEC, in order
    bool inherit = false;
    std::vector<std::string> fdnames;  // --fdname NAME[:NAME...]
    std::vector<std::string> setenv;   // -E VAR[=VALUE]
    std::string user;
    std::string group;
    bool json = false;
    bool classic = false;              // --classic: rules as classic BPF
    bool ebpf = false;                 // --ebpf
    bool dry_run = false;
    bool list_maps = false;
    bool no_cache = false;
    bool verbose = false;
    bool quiet = false;
    bool help = false;
    bool version = false;
};

// Parses argv (and the --config file, which the command line overrides);
// throws Error (exit status 1) with a message naming the problem.
Options parse_command_line(int argc, const char *const argv[]);

std::string usage_text();

}  // namespace alf
