// alfctl test --pcap: capture files (pcap and pcapng, every link type) read
// into Ethernet frames, and each frame described as the packet syntax does.
#include "support.hpp"
#include "workbench/pcap_reader.hpp"
#include "workbench/test_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace alf;
    std::string path = fuzz::input_file("capture.pcap", fuzz::as_text(data, size));
    fuzz::refusals_allowed([&] {
        for (const auto &frame : read_capture_frames(path)) describe_frame(frame);
    });
    describe_frame(std::vector<std::uint8_t>(data, data + size));
    return 0;
}
