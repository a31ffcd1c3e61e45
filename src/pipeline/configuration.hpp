// The one configuration type: what a run of alfwrapper or alfctl is asked to
// do, filled by either command line and by --config from the one option
// table (src/cli/). Each stage's part is declared by that stage.
#pragma once

#include "inputs/filter_inputs.hpp"
#include "launch/socket_set.hpp"

#include <string>
#include <vector>

namespace alf {

struct Configuration {
    // The filter.
    std::string filter;                     // -f: .c, .o, or a built-in filter's name
    std::string program;                    // --program: which program in the object
    std::vector<std::string> defines;       // -D
    std::vector<std::string> include_dirs;  // -I
    std::string cache_dir;                  // --cache-dir; empty: the default
    bool no_cache = false;
    bool classic = false;                   // --classic: rules as classic BPF
    bool ebpf = false;                      // --ebpf
    InputSettings inputs;                   // maps and rules

    // The sockets and the hand-off (alfwrapper).
    SocketSettings sockets;
    std::vector<std::string> setenv;        // -E VAR[=VALUE]
    std::string user, group;                // -u, -g
    std::vector<std::string> command;       // PROGRAM [ARGS...]
    std::string name;                       // --name: how alfctl knows the service

    std::string config_file;                // --config FILE.json (already merged in)
    bool dry_run = false;
    bool list_maps = false;
    bool list_filters = false;
    bool json = false;
    bool verbose = false;
    bool quiet = false;
    bool help = false;
    bool version = false;
};

}  // namespace alf
