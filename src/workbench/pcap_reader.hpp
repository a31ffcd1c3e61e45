// Packets from a capture file (pcap or pcapng), as Ethernet frames for test runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alf {

// Reads every packet of a pcap file (either byte order, microsecond or
// nanosecond timestamps) or a pcapng file (every section, each interface's
// link type; blocks that hold no packet are skipped). Ethernet frames are
// taken as they are (VLAN tags removed: a socket sees packets without them);
// raw IP, Linux cooked (SLL, SLL2) and BSD loopback captures get an Ethernet
// header. Packets that are not IP are returned too (the filter judges them
// all). Throws Error naming the file and what is wrong with it (truncated,
// corrupt, an unsupported link type, larger than 1 GiB).
std::vector<std::vector<std::uint8_t>> read_capture_frames(const std::string &path);

}  // namespace alf
