// The drop log's functions of <alfwrapper/stats.h>, compiled once when
// alfwrapper is built (log_library.c) and linked into each filter
// alfwrapper compiles, which declares them only (CompileRequest's
// precompiled_log): their compile was a fifth of a library filter's
// (bench/RESULTS.md). The same link joins the two objects of a compile
// split over two CPUs (CompileRequest::split_functions).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace alf {

// A compiled filter's object (precompiled_log) linked, by libbpf's static
// linker, with `more`, the other object of a compile split in two
// (CompileRequest::split_functions; empty for one compiled whole), and with
// the library where one of them calls the log's functions; returned as it
// is when there is nothing to link. The log's functions and those `hidden`
// names (hidden globals, so that the objects reach each other's) come out
// static in the linked object's BTF, as in a filter compiled whole: the
// verifier checks them in each caller's context. Throws Error naming
// `what` (the filter's source) when the objects cannot be linked.
std::vector<std::uint8_t> link_compiled_objects(std::vector<std::uint8_t> object,
                                                const std::vector<std::vector<std::uint8_t>> &more,
                                                const std::vector<std::string> &hidden, const std::string &what);

// The embedded library object (empty in a build without it).
std::span<const unsigned char> log_library_object();

}  // namespace alf
