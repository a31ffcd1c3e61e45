// The kernel verifier's log, as libbpf hands it over: where it stopped, why,
// which limit was hit.
#include "support.hpp"
#include "bpf/verifier_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::string log(fuzz::as_text(data, size));
    summarize_verifier_log(log);
    last_lines(log, size % 32);
    return 0;
}
