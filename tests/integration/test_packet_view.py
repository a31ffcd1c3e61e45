"""The packet view (alf_packet_parse) gives the same answers on a live socket
as under BPF_PROG_TEST_RUN, for IPv4 and IPv6, TCP and UDP.

A filter that records its view of every packet into a ring buffer runs on a
real dual-stack socket; the test captures the same packets on lo with a packet
socket, then runs the very same program on each captured frame with
BPF_PROG_TEST_RUN, and compares the two sets of views field by field."""

import ipaddress
import json
import os
import socket
import struct
import subprocess
import unittest
import uuid

from harness import AlfTestCase, Peer, free_port, source_path, wait_until

PROG_TEST_RUN = os.environ.get("ALF_PROG_TEST_RUN", "prog_test_run")
FILTER = source_path("tests", "filters", "packet_view.c")
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
PACKET_HOST = 0  # the receive side of lo; the send side shows the same frame again

# struct alf_packet: family, protocol, tcp_flags, pad, sport, dport, ifindex, len, saddr[16], daddr[16]
VIEW = struct.Struct("<BBBxHHII16s16s")


def decode(record):
    family, protocol, tcp_flags, sport, dport, ifindex, length, saddr, daddr = VIEW.unpack(bytes.fromhex(record))
    size = 4 if family == socket.AF_INET else 16
    return {"family": family, "protocol": protocol, "tcp_flags": tcp_flags, "sport": sport, "dport": dport,
            "ifindex": ifindex, "len": length,
            "saddr": str(ipaddress.ip_address(saddr[:size])), "daddr": str(ipaddress.ip_address(daddr[:size])),
            "saddr_tail_zero": saddr[size:] == bytes(16 - size), "daddr_tail_zero": daddr[size:] == bytes(16 - size)}


def destination_port(frame):
    """The destination port of a TCP/UDP frame captured on lo, or None."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == ETH_P_IP and len(ip) >= 20:
        protocol, offset = ip[9], (ip[0] & 0x0F) * 4
    elif ethertype == ETH_P_IPV6 and len(ip) >= 40:
        protocol, offset = ip[6], 40
    else:
        return None
    if protocol not in (socket.IPPROTO_TCP, socket.IPPROTO_UDP) or len(ip) < offset + 4:
        return None
    return struct.unpack("!H", ip[offset + 2:offset + 4])[0]


class Capture:
    """Frames arriving on lo, as a packet socket sees them (Ethernet header first)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("lo", 0))
        self.sock.setblocking(False)

    def frames_to(self, port):
        frames = []
        while True:
            try:
                frame, address = self.sock.recvfrom(65536)
            except BlockingIOError:
                return frames
            if address[2] == PACKET_HOST and destination_port(frame) == port:
                frames.append(frame)

    def close(self):
        self.sock.close()


class PacketView(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.map_name = "pv" + uuid.uuid4().hex[:12]
        self.port = free_port()
        self.capture = Capture()
        self.addCleanup(self.capture.close)

    def start(self, kind):
        self.serve(["-D", "VIEW_MAP=" + self.map_name, "--port", str(self.port), "--type", kind, FILTER])

    def server_side_closed(self):
        """True when the service's side of every connection is gone (the last
        segments of a teardown have been judged by the filter)."""
        out = subprocess.run(["ss", "-Htan", f"sport = :{self.port}"], capture_output=True, text=True).stdout
        return all(line.startswith("LISTEN") for line in out.splitlines())

    def compare(self, expect_protocol):
        frames = self.capture.frames_to(self.port)
        self.assertTrue(frames, "nothing captured")
        out = subprocess.run([PROG_TEST_RUN, "live", self.map_name] + [f.hex() for f in frames],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out)
        live = sorted(result["live"])
        tested = sorted(r for run in result["runs"] for r in run["records"])
        self.assertEqual(len(tested), len(frames), "one record per test run")
        self.assertEqual([decode(r) for r in live], [decode(r) for r in tested],
                         "the view of each packet on the live socket and under BPF_PROG_TEST_RUN")
        views = [decode(r) for r in live]
        families = {v["family"] for v in views}
        self.assertEqual(families, {socket.AF_INET, socket.AF_INET6}, "both families seen")
        for v in views:
            self.assertEqual(v["protocol"], expect_protocol)
            self.assertEqual(v["dport"], self.port)
            self.assertTrue(v["saddr_tail_zero"] and v["daddr_tail_zero"])
            self.assertIn(v["saddr"], ("127.0.0.1", "::1"), "IPv4 clients of the dual-stack socket come as IPv4")
            self.assertEqual(v["ifindex"], socket.if_nametoindex("lo"))
        return views

    def test_tcp_ipv4_and_ipv6(self):
        self.start("SOCK_STREAM")
        self.assert_served(Peer("127.0.0.1", self.port), payload=b"v4 payload\n")
        self.assert_served(Peer("::1", self.port), payload=b"v6, a longer payload\n")
        wait_until(self.server_side_closed, what="the connections' teardown")
        views = self.compare(socket.IPPROTO_TCP)
        syns = [v for v in views if v["tcp_flags"] == 0x02]
        self.assertEqual(len(syns), 2, "one SYN a family")
        self.assertIn(20 + 11 + 32, [v["len"] for v in views], "IPv4: header, 11 bytes, TCP with timestamps")
        self.assertIn(40 + 21 + 32, [v["len"] for v in views], "IPv6: header, 21 bytes, TCP with timestamps")

    def test_udp_ipv4_and_ipv6(self):
        self.start("SOCK_DGRAM")
        self.assert_served(Peer("127.0.0.1", self.port, udp=True), payload=b"four")
        self.assert_served(Peer("::1", self.port, udp=True), payload=b"sixteen-sixteen!")
        views = self.compare(socket.IPPROTO_UDP)
        self.assertEqual(sorted(v["len"] for v in views), [20 + 8 + 4, 40 + 8 + 16])
        self.assertEqual({v["tcp_flags"] for v in views}, {0})


if __name__ == "__main__":
    unittest.main()
