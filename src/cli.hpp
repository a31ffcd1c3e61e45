// The command line: options, usage text. No system calls here.
#pragma once

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
    std::vector<std::string> defines;  // -D
    std::vector<std::string> include_dirs;
    std::string cache_dir;             // --cache-dir; empty: the default
    std::vector<std::string> command;  // PROGRAM [ARGS...]
    bool dry_run = false;
    bool list_maps = false;
    bool no_cache = false;
    bool verbose = false;
    bool quiet = false;
    bool help = false;
    bool version = false;
};

// Parses argv; throws Error (exit status 1) with a message naming the problem.
Options parse_command_line(int argc, const char *const argv[]);

std::string usage_text();

}  // namespace alf
