// --dry-run: what the hand-off would do, for a person or (--json) a program.
#pragma once

#include "launch/handoff.hpp"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace alf {

class FilterObject;

// What was attached: an eBPF filter with its maps, or a classic program.
struct FilterSummary {
    std::string object;   // "subnets", "filters/x.c"
    std::string program;  // the program's name
    std::string kind;     // "eBPF", "classic BPF", or "classic BPF as eBPF" (its translation)
    std::uint32_t instructions = 0;
    struct Map {
        std::string name, type;
        std::size_t entries = 0;
        std::uint32_t max_entries = 0;
    };
    std::vector<Map> maps;
};

// A loaded eBPF filter's summary (its maps' entries counted now).
FilterSummary summarize_filter(const FilterObject &filter);

// The rules filter as a classic program of `instructions`, or (as_ebpf) as
// that program's eBPF translation of `instructions`.
FilterSummary summarize_classic(std::size_t instructions, bool as_ebpf = false);

// The sockets with the fds and names they would get, the filter with its
// maps' entry counts, the user, the environment changes and the command line.
void print_dry_run(std::ostream &out, const HandOff &handoff, const std::string &program_path,
                   const FilterSummary &filter, bool json);

}  // namespace alf
