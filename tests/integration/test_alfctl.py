"""alfctl: compile, check and test, as a filter author uses them."""

import ipaddress
import json
import os
import random
import re
import struct
import subprocess
import unittest
import uuid

from harness import AlfTestCase, Run, alfctl as ctl, free_port, source_path

WHITELIST = source_path("filters", "whitelist.c")
PRIVATE = source_path("filters", "whitelist-private.c")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_tcp_syn(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                         bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + tcp


def pcap(link_type, packets):
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link_type)
    for p in packets:
        data += struct.pack("<IIII", 1, 0, len(p), len(p)) + p
    return data


class Alfctl(AlfTestCase):
    def test_help_and_version(self):
        r = ctl("--help")
        self.assertEqual(r.returncode, 0, r)
        for verb in ("compile", "check", "test"):
            self.assertIn(verb, r.stdout)
            v = ctl(verb, "--help")
            self.assertEqual(v.returncode, 0, v)
            self.assertIn(f"Usage: alfctl {verb}", v.stdout)
        self.assertEqual(ctl("help", "test").stdout, ctl("test", "--help").stdout)
        self.assertIn("--pcap", ctl("test", "--help").stdout)
        self.assertRegex(ctl("--version").stdout, r"^alfctl \d+\.\d+")
        r = ctl("frobnicate")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("unknown verb", r.stderr)

    def test_compile_writes_an_object_alfwrapper_takes(self):
        out = self.path("whitelist.o")
        r = ctl("compile", WHITELIST, "-o", out)
        self.assertEqual(r.returncode, 0, r)
        with open(out, "rb") as f:
            self.assertEqual(f.read(4), b"\x7fELF")
        maps = Run(["--list-maps", out])
        self.assertEqual(maps.returncode, 0, maps)
        self.assertIn("__type(value, struct alf_ipv4_subnet);\t/* 8 bytes */", maps.stdout)
        self.assertIn("} allow4;", maps.stdout)
        launch = Run(["--port", str(free_port()), "--set", "allow4,0,10.0.0.0/8", out, "true"])
        self.assertEqual(launch.returncode, 0, launch)
        # Without -o the object is named after the source, in the current directory.
        r = ctl("compile", PRIVATE, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(os.path.exists(self.path("whitelist-private.o")))

    def test_compile_errors(self):
        r = ctl("compile", self.path("missing.c"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no such file", r.stderr)
        r = ctl("compile", WHITELIST, "-o", self.path("no/such/dir/x.o"))
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("cannot write", r.stderr)

    def test_check_lists_programs_maps_and_option_memory(self):
        r = ctl("check", WHITELIST, "--set", "allow4,0,10.0.0.0/8", "--set", "allow6,0,2001:db8::/32")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"program filter \(section socket\): \d+ instructions, \d+ after verification")
        # The kernel's count of what it verified: the drop log's code (on by
        # default) is walked only when the log is on.
        processed = re.search(r"(\d+) processed by the verifier", r.stdout)
        self.assertIsNotNone(processed, r.stdout)
        without_log = ctl("check", WHITELIST, "--log-rate", "0")
        self.assertEqual(without_log.returncode, 0, without_log)
        processed_without_log = re.search(r"(\d+) processed by the verifier", without_log.stdout)
        self.assertIsNotNone(processed_without_log, without_log.stdout)
        self.assertGreater(int(processed_without_log.group(1)), 0)
        self.assertGreater(int(processed.group(1)), int(processed_without_log.group(1)))
        self.assertIn("map allow4: hash, key __u32 (4 bytes), value struct alf_ipv4_subnet (8 bytes), max_entries 1024",
                      r.stdout)
        self.assertIn("map allow6: hash, key __u32 (4 bytes), value struct alf_ipv6_subnet", r.stdout)
        self.assertRegex(r.stdout, r"socket option memory: \d+ bytes per socket of net.core.optmem_max \d+")
        self.assertIn("ok: alfwrapper can load and attach", r.stdout)

        r = ctl("check", WHITELIST, "--set", "allow4,0,10.0.0.300/8")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("10.0.0.300", r.stderr)

    def test_check_fails_when_the_filter_exceeds_optmem_max(self):
        # optmem_max is per network namespace: lower it in one of our own.
        netns = "alf-optmem-" + uuid.uuid4().hex[:6]
        subprocess.run(["ip", "netns", "add", netns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", netns])
        subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-qw", "net.core.optmem_max=1024"], check=True)
        r = ctl("check", WHITELIST, netns=netns)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("does not fit a socket's option memory", r.stderr)
        self.assertIn("net.core.optmem_max is 1024 bytes", r.stderr)
        launch = Run(["--port", str(free_port()), WHITELIST, "true"], netns=netns)
        self.assertEqual(launch.returncode, 2, launch)
        self.assertIn("net.core.optmem_max = 1024", launch.stderr)

    def test_test_prints_one_verdict_a_packet(self):
        r = ctl("test", PRIVATE, "tcp 10.1.2.3:40000 > [::]:4242", "tcp 192.0.2.7:40000 > [::]:4242 syn",
                "udp [fe80::1]:53000 > [::]:53 len=512", "udp", "[2001:db8::1]:53000", ">", "0.0.0.0:53")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines(), [
            "pass  tcp 10.1.2.3:40000 > 0.0.0.0:4242 syn",
            "drop  tcp 192.0.2.7:40000 > 0.0.0.0:4242 syn",
            "pass  udp [fe80::1]:53000 > [::]:53 len=512",
            "drop  udp [2001:db8::1]:53000 > [::]:53",
        ])

    def test_test_with_map_entries_and_json(self):
        r = ctl("test", "--json", "--set", "allow4,0,192.0.2.0/24", WHITELIST,
                "tcp 192.0.2.7:1 > 192.0.2.1:80", "tcp 198.51.100.7:1 > 192.0.2.1:80")
        self.assertEqual(r.returncode, 0, r)
        report = json.loads(r.stdout)
        self.assertEqual(report["program"], "filter")
        self.assertEqual([x["verdict"] for x in report["results"]], ["pass", "drop"])
        self.assertEqual(report["results"][0]["packet"], "tcp 192.0.2.7:1 > 192.0.2.1:80 syn")
        self.assertEqual(report["results"][0]["length"], 40)
        self.assertTrue(report["all_matched"])

    def test_whitelist_answers_by_the_turn_that_ends_its_search(self):
        # The search stops at the first missing index or at a subnet that
        # holds the source, and answers by that turn: a full list (1024, the
        # maps' size) whose last subnet holds the source admits it, one
        # that ends without it refuses; an entry after a gap is never tried.
        def verdicts(entries4, entries6, *packets):
            for name, entries in (("allow4", entries4), ("allow6", entries6)):
                with open(self.path(name + ".txt"), "w") as f:
                    f.writelines(f"{index} {subnet}\n" for index, subnet in entries)
            r = ctl("test", "--json", "--set-file", "allow4=" + self.path("allow4.txt"), "--set-file",
                    "allow6=" + self.path("allow6.txt"), WHITELIST, *packets)
            self.assertEqual(r.returncode, 0, r)
            return [x["verdict"] for x in json.loads(r.stdout)["results"]]

        full4 = [(i, f"10.{i // 256}.{i % 256}.0/24") for i in range(1023)] + [(1023, "172.16.0.0/12")]
        full6 = [(i, f"2001:db8:{i:x}::/48") for i in range(1023)] + [(1023, "fd00::/8")]
        packets = ["tcp 172.16.5.5:1 > 127.0.0.1:80", "tcp 10.3.254.9:1 > 127.0.0.1:80",
                   "tcp 10.4.0.1:1 > 127.0.0.1:80", "tcp [fd00::5]:1 > [::1]:80",
                   "tcp [2001:db8:3fe::9]:1 > [::1]:80", "tcp [2001:db8:3ff::1]:1 > [::1]:80",
                   "tcp [::ffff:172.16.0.1]:1 > [::1]:80", "tcp [::ffff:10.4.0.1]:1 > [::1]:80"]
        self.assertEqual(verdicts(full4, full6, *packets),
                         ["pass", "pass", "drop", "pass", "pass", "drop", "pass", "drop"])
        gap4 = [(0, "10.0.0.0/8"), (2, "172.16.0.0/12")]
        gap6 = [(0, "2001:db8::/32"), (2, "fd00::/8")]
        self.assertEqual(verdicts(gap4, gap6, "tcp 10.1.1.1:1 > 127.0.0.1:80", "tcp 172.16.0.1:1 > 127.0.0.1:80",
                                  "tcp [2001:db8::1]:1 > [::1]:80", "tcp [fd00::1]:1 > [::1]:80"),
                         ["pass", "drop", "pass", "drop"])

    def test_whitelist_ipv6_prefixes_of_every_length(self):
        # Subnets of the lengths where the test of a prefix changes shape
        # (the halves' edges: 0, 1, 63, 64, 65, 127, 128, ...), each with
        # sources inside it and with one bit flipped at or near its edge;
        # each packet's verdict as Python's ipaddress decides membership.
        chooser = random.Random(16)
        for round_lengths in ([1, 7, 31, 32, 33, 63], [64, 65, 96, 127, 128], [0]):
            nets = [ipaddress.IPv6Network((chooser.getrandbits(128), n), strict=False) for n in round_lengths]
            sources = []
            for net in nets:
                for _ in range(6):
                    host = int(net.network_address) | chooser.getrandbits(128 - net.prefixlen)
                    if net.prefixlen and chooser.random() < 0.5:
                        host ^= 1 << (128 - net.prefixlen + chooser.randrange(min(3, net.prefixlen)))
                    source = ipaddress.IPv6Address(host)
                    if source.ipv4_mapped is None:  # those are judged by allow4
                        sources.append(source)
            with open(self.path("allow6.txt"), "w") as f:
                f.writelines(f"{i} {net}\n" for i, net in enumerate(nets))
            r = ctl("test", "--json", "--set-file", "allow6=" + self.path("allow6.txt"), WHITELIST,
                    *[f"tcp [{source}]:1 > [::1]:80" for source in sources])
            self.assertEqual(r.returncode, 0, r)
            verdicts = [x["verdict"] for x in json.loads(r.stdout)["results"]]
            expected = ["pass" if any(source in net for net in nets) else "drop" for source in sources]
            self.assertEqual(verdicts, expected)
            self.assertIn("pass", expected)
            if 0 not in round_lengths:  # ::/0 admits every source
                self.assertIn("drop", expected)

    def test_expect_sets_the_exit_status(self):
        packets = ["tcp 10.0.0.1:1 > [::]:80", "tcp 192.0.2.7:1 > [::]:80"]
        r = ctl("test", "--expect", "pass", PRIVATE, *packets)
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("MISMATCH: expected pass", r.stdout)
        r = ctl("test", "--expect", "drop", PRIVATE, packets[1])
        self.assertEqual(r.returncode, 0, r)
        r = ctl("test", PRIVATE, packets[0] + " expect=pass", packets[1] + " expect=drop")
        self.assertEqual(r.returncode, 0, r)
        r = ctl("test", "--json", PRIVATE, packets[1] + " expect=pass")
        self.assertEqual(r.returncode, 3, r)
        self.assertFalse(json.loads(r.stdout)["all_matched"])

    def test_test_reads_captures(self):
        syn_private = ipv4_tcp_syn("10.0.0.1", "10.0.0.2", 40000, 80)
        syn_public = ipv4_tcp_syn("192.0.2.7", "10.0.0.2", 40000, 80)
        ethernet = b"\x00" * 12 + b"\x08\x00"
        for name, link, packets in (("ethernet.pcap", 1, [ethernet + syn_private, ethernet + syn_public]),
                                    ("raw.pcap", 101, [syn_private, syn_public])):
            with open(self.path(name), "wb") as f:
                f.write(pcap(link, packets))
            r = ctl("test", "--pcap", self.path(name), PRIVATE)
            self.assertEqual(r.returncode, 0, r)
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), 2, r)
            self.assertTrue(lines[0].startswith("pass  tcp 10.0.0.1:40000 > 10.0.0.2:80 syn"), lines)
            self.assertTrue(lines[1].startswith("drop  tcp 192.0.2.7:40000 > 10.0.0.2:80 syn"), lines)
            self.assertIn(f"[{self.path(name)} #2]", lines[1])

    def test_test_usage_errors(self):
        r = ctl("test", PRIVATE)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no packets to test", r.stderr)
        r = ctl("test", PRIVATE, "tcp 10.0.0.1:1 10.0.0.2:2")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("expected PROTOCOL SOURCE > DESTINATION", r.stderr)
        r = ctl("test", PRIVATE, "tcp [2001:db8::1]:1 > 10.0.0.2:2")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("an IPv6 packet cannot go to the IPv4 address", r.stderr)


if __name__ == "__main__":
    unittest.main()
