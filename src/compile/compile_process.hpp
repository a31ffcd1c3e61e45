// A compile in a process of its own, so that the process that starts the
// service never holds the compiler's memory.
//
// A compile touches tens of megabytes of the executable's code and a few of
// heap; the process that did it pays again to give them back, at the exec
// of the service (2-3 ms of a cold launch in these VMs: exec had to unmap
// ~10,000 pages). Compiled in a grandchild that is no child of ours, that
// cost is the grandchild's, paid at its exit beside our load, attach and
// exec; no process is left for the service to reap. It keeps none of our
// descriptors (the service's sockets, our standard output), and ends at the
// lowest priority, so that its teardown delays no one.
#pragma once

#include "compile/compiler.hpp"

namespace alf {

// compile_filter(request), run in a process of its own; its answer comes
// back over a pipe. Where no process can be made (fork fails), where an
// orphan would become ours or our service's (we are PID 1 or a subreaper),
// the compile runs here. A compile that must end (a bound passed, the
// compiler's own failure) throws Error with the message and exit status it
// would have ended this process with; a compiler that ends without an
// answer (killed by a signal) throws Error with exit status 2.
CompileResult compile_filter_apart(const CompileRequest &request);

// The answer's encoding, apart from the process (for tests): `decode_answer`
// throws Error on bytes that are not a whole answer.
std::string encode_answer(const CompileResult &result);
CompileResult decode_answer(std::string_view bytes);

}  // namespace alf
