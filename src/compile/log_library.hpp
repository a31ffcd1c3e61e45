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

// `object` (a filter compiled with precompiled_log) with the library linked
// in, by libbpf's static linker, where it calls the log's functions (as
// it is otherwise). The functions come out static in the object's BTF, as
// they are in a filter compiled whole: the verifier checks them in each
// caller's context. Throws Error naming `what` (the filter's source) when
// the object cannot be linked.
std::vector<std::uint8_t> link_log_library(std::vector<std::uint8_t> object, const std::string &what);

// The same for a compile split in two (CompileRequest::split_functions):
// `object` and `more` linked into one, with the library where one of them
// calls it, and the functions `hidden` names (hidden globals, so that the
// objects reach each other's) made static in the BTF as well.
std::vector<std::uint8_t> link_compiled_objects(std::vector<std::uint8_t> object,
                                                const std::vector<std::vector<std::uint8_t>> &more,
                                                const std::vector<std::string> &hidden, const std::string &what);

// The embedded library object (empty in a build without it).
std::span<const unsigned char> log_library_object();

}  // namespace alf
