// Source lines of a BPF object's instructions, from the line info the
// compiler writes into .BTF.ext (the same records the kernel gets at load).
// The verifier prints a source line only when it changes, so in a long loop
// the line of the instruction it stopped at may have scrolled out of its log;
// the object itself always knows it.
#pragma once

#include "bpf/verifier_log.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace alf {

// The source line of instruction `index` (as the verifier counts them) of
// the program named `program` in an ELF object for the BPF target; nothing
// when the object has no line info for it. The file is the path the
// compiler was given.
std::optional<SourceLine> source_line_of(std::span<const std::uint8_t> elf, const std::string &program,
                                         std::uint32_t index);

}  // namespace alf
