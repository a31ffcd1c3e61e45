#include "test_run.hpp"

#include "error.hpp"

#include <bpf/bpf.h>

#include <cerrno>

namespace alf {

TestRunResult test_run(int program_fd, std::span<const std::uint8_t> frame) {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.repeat = 1;
    if (int err = bpf_prog_test_run_opts(program_fd, &opts); err) {
        if (-err == EINVAL || -err == EMSGSIZE)
            throw Error("the kernel refused a test run on this packet of " + std::to_string(frame.size()) +
                        " bytes (" + std::to_string(test_run_max_frame) + " at most, 14 at least)");
        throw system_error("test run (BPF_PROG_TEST_RUN)", -err);
    }
    TestRunResult result;
    result.returned = opts.retval;
    // The kernel strips the Ethernet header; the program sees the rest.
    result.length = static_cast<std::uint32_t>(frame.size() - 14);
    // A socket filter's return value is how many bytes to keep: 0 drops.
    result.verdict = result.returned == 0 ? Verdict::drop : Verdict::pass;
    result.trimmed = result.returned != 0 && result.returned < result.length;
    return result;
}

}  // namespace alf
