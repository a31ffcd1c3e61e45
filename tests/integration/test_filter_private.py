"""The built-in "private" filter with real connections over a veth between
two namespaces of the test's own: private, link-local and loopback sources
served; public ones and the ranges just outside the private ones refused."""

import ipaddress
import json
import os
import struct
import subprocess
import unittest

import harness
from harness import AlfTestCase, EchoServer, NetnsPair, add_address, free_port

# (server address, client address, prefix length): each pair gets its own
# subnet on the veth, so the client's source is the address given here.
ADMITTED = [("10.1.0.1", "10.1.0.2", 24), ("172.16.5.1", "172.16.5.2", 24), ("172.31.255.1", "172.31.255.2", 24),
            ("192.168.7.1", "192.168.7.2", 24), ("169.254.9.1", "169.254.9.2", 24),
            ("fd00:1::1", "fd00:1::2", 64), ("fe80::a1", "fe80::a2", 64)]
REFUSED = [("172.32.0.1", "172.32.0.2", 24), ("172.15.0.1", "172.15.0.2", 24), ("100.64.0.1", "100.64.0.2", 24),
           ("11.0.0.1", "11.0.0.2", 24), ("fe00::1", "fe00::2", 64), ("fec0::1", "fec0::2", 64)]


class Private(AlfTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_root()
        cls.net = NetnsPair().__enter__()
        try:
            for server, client, length in ADMITTED + REFUSED:
                for ns, dev, addr in ((cls.net.server, cls.net.server_if, server),
                                      (cls.net.client, cls.net.client_if, client)):
                    add_address(ns, addr, dev, length)
        except Exception:
            cls.net.__exit__()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.__exit__()

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.serve(["-f", "private", "--port", str(self.port)], netns=self.net.server)

    def reach(self, server_address, port=None):
        return self.net.from_client(server_address, port or self.port)

    def test_private_and_link_local_sources_served(self):
        for server, client, _ in ADMITTED:
            with self.subTest(source=client):
                self.assert_served(self.reach(server), msg=f"{client} is private or link-local")

    def test_public_sources_and_near_misses_refused(self):
        refused = REFUSED + [(self.net.server_v4, self.net.client_v4, 24), (self.net.server_v6, self.net.client_v6, 64)]
        # Control: without a filter, every one of these sources reaches the server namespace.
        control = free_port()
        while control == self.port:  # free_port() looks in this namespace, the service listens in the server's
            control = free_port()
        with EchoServer(control, netns=self.net.server):
            self.assert_served(*[self.reach(server, control) for server, _, _ in refused],
                               msg="control: the path must work unfiltered")
        admitted = self.reach(ADMITTED[0][0])
        self.assert_dropped(admitted, *[self.reach(server) for server, _, _ in refused],
                            msg="neither private nor link-local")

    def test_loopback_served(self):
        self.assert_served(self.net.local("127.0.0.1", self.port), self.net.local("::1", self.port))


IPPROTO_TCP = 6
PROG_TEST_RUN = os.environ.get("ALF_PROG_TEST_RUN", "prog_test_run")
BUILTIN_PRIVATE = os.path.join(os.path.dirname(harness.ALFWRAPPER), "filters", "private.o")


def ipv6_syn_frame(source, destination="::1"):
    """An Ethernet frame carrying an IPv6 TCP SYN, as BPF_PROG_TEST_RUN takes it."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 443, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), IPPROTO_TCP, 64,
                     ipaddress.IPv6Address(source).packed, ipaddress.IPv6Address(destination).packed)
    return bytes(12) + struct.pack("!H", 0x86DD) + ip + tcp


class MappedSources(AlfTestCase):
    """IPv4-mapped IPv6 sources (::ffff:a.b.c.d) never reach a socket (the
    kernel drops IPv6 packets with such sources), but a filter may see them
    under BPF_PROG_TEST_RUN: there they are judged by their IPv4 address."""

    def verdicts(self, sources):
        out = subprocess.run([PROG_TEST_RUN, "object", BUILTIN_PRIVATE] + [ipv6_syn_frame(s).hex() for s in sources],
                             capture_output=True, text=True, check=True).stdout
        return [run["retval"] != 0 for run in json.loads(out)["runs"]]

    def test_mapped_private_admitted_mapped_public_refused(self):
        admitted = ["::ffff:10.1.2.3", "::ffff:192.168.0.1", "::ffff:127.0.0.1", "::ffff:169.254.1.1", "fd00::5"]
        refused = ["::ffff:8.8.8.8", "::ffff:172.32.0.1", "::ffff:100.64.0.1", "2001:db8::1", "::10.1.2.3"]
        self.assertEqual(self.verdicts(admitted), [True] * len(admitted))
        self.assertEqual(self.verdicts(refused), [False] * len(refused))


if __name__ == "__main__":
    unittest.main()
