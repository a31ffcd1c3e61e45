// alfctl test's packets as text, one argument a line. A packet's canonical
// description, parsed again, must give the same frame.
#include "support.hpp"
#include "workbench/test_packet.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::vector<TestPacket> packets;
    fuzz::refusals_allowed([&] { packets = parse_test_packets(fuzz::split_lines(fuzz::as_text(data, size))); });
    for (const TestPacket &packet : packets) {
        std::vector<TestPacket> again = parse_test_packets({packet.description});
        if (again.size() != 1 || again[0].frame.size() != packet.frame.size()) std::abort();
    }
    return 0;
}
