// Loading a filter object by the bpf() commands alone. libbpf 1.1 probes
// the kernel's features in every process before it loads anything (about
// twenty bpf() calls: program loads, BTF loads, map creations), and offers
// no way to give it the answers; on a launch from the compile cache that is
// a fifth of the time. This loader does what libbpf's load does with the
// objects filters are compiled to, on a kernel that has what they use:
// the program and the subprograms it calls, laid out as libbpf lays them
// out, their func and line info, every map of the object created with its
// BTF, global data filled in (.rodata frozen and bound to the program).
// Anything else it leaves to libbpf: CO-RE relocations, externs, callbacks,
// pinned maps, map types with special handling, a kernel that refuses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

struct bpf_object;
struct bpf_program;

namespace alf {

struct DirectLoad {
    int program_fd = -1;            // the caller's to close
    std::uint32_t instructions = 0;  // loaded: the program and its subprograms
};

// The program loaded and every map created, each handed to libbpf's map
// object (bpf_map__reuse_fd), so the rest of the pipeline works on them as
// on maps libbpf made. Or nothing, `why` saying why: libbpf is then to load
// the object, and takes the maps made here as they are.
std::optional<DirectLoad> load_directly(bpf_object *object, const bpf_program *program,
                                        std::span<const std::uint8_t> elf, std::string &why);

}  // namespace alf
