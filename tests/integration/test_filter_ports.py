"""The built-in "ports" filter with real connections: clients admitted by
their source port (privileged source ports), and, on a socket that receives a
range of ports (steered to it by an sk_lookup program in a namespace of the
test's own), connections admitted by their destination port."""

import contextlib
import errno
import json
import os
import socket
import subprocess
import unittest

import harness
from harness import CONNECT_TIMEOUT, AlfTestCase, NetnsPair, free_port

PORT_STEER = os.environ.get("ALF_PORT_STEER", "port_steer")


def rule(source=None, destination=None):
    r = {}
    if source:
        r["source"] = {"first": source[0], "last": source[1]}
    if destination:
        r["destination"] = {"first": destination[0], "last": destination[1]}
    return json.dumps(r)


def echo_from_port(dst, port, source_port, src="127.0.0.1"):
    """tcp echo from a given source port; None when refused (timed out).
    Raises OSError(EADDRINUSE) when the source port is taken here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(CONNECT_TIMEOUT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, source_port))
        try:
            s.connect((dst, port))
            s.sendall(b"ping\n")
            return s.recv(100)
        except socket.timeout:
            return None


class SourcePorts(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def echo_from_some_port(self, candidates, src):
        for source_port in candidates:
            try:
                return echo_from_port("127.0.0.1", self.port, source_port, src=src)
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
        self.fail(f"no source port free among {list(candidates)[:3]}...")

    def test_privileged_source_ports_admitted_others_refused(self):
        self.serve(["-f", "ports", "--port", str(self.port), "--set", "rules,0," + rule(source=(1, 1023))])
        self.assertEqual(self.echo_from_some_port(range(1000, 600, -1), "127.0.0.2"), b"ping\n",
                         "a privileged source port is admitted")
        self.assertIsNone(self.echo_from_some_port(range(1024, 1500), "127.0.0.3"), "1024 is not privileged")
        self.assertIsNone(harness.tcp_echo("127.0.0.1", self.port), "an ephemeral source port is refused")

    def test_several_rules_and_the_empty_list(self):
        a, b = free_port(), free_port()
        self.serve(["-f", "ports", "--port", str(self.port),
                    "--set", "rules,0," + rule(source=(a, a)), "--set", "rules,1," + rule(source=(b, b))])
        self.assertEqual(echo_from_port("127.0.0.1", self.port, a, src="127.0.0.4"), b"ping\n")
        self.assertEqual(echo_from_port("127.0.0.1", self.port, b, src="127.0.0.4"), b"ping\n")
        self.assertIsNone(harness.tcp_echo("127.0.0.1", self.port))

        empty = free_port()
        self.serve(["-f", "ports", "--port", str(empty)])
        self.assertIsNone(echo_from_port("127.0.0.1", empty, a, src="127.0.0.5"), "no rules: nothing admitted")


class DestinationPorts(AlfTestCase):
    """One listening socket receives ports P+1..P+4 besides its own P."""

    def setUp(self):
        super().setUp()
        self.net = NetnsPair().__enter__()
        self.addCleanup(self.net.__exit__)
        self.port = free_port()

    def steer(self, service):
        pid = service.report()["pid"]
        steer = subprocess.Popen(["ip", "netns", "exec", self.net.server, PORT_STEER, str(pid), "3",
                                  str(self.port + 1), str(self.port + 4)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def stop():
            with contextlib.suppress(BrokenPipeError):
                steer.stdin.close()
            steer.wait(10)
        self.addCleanup(stop)
        self.assertEqual(steer.stdout.readline().strip(), "ready")

    def reach(self, port):
        return self.net.client_tcp_echo(self.net.server_v4, port)

    def test_steered_ports_admitted_by_destination(self):
        service = self.serve(["-f", "ports", "--port", str(self.port),
                              "--set", "rules,0," + rule(destination=(self.port + 1, self.port + 2))],
                             netns=self.net.server)
        self.steer(service)
        self.assertTrue(self.reach(self.port + 1), "destination port listed")
        self.assertTrue(self.reach(self.port + 2), "destination port listed")
        self.assertFalse(self.reach(self.port + 3), "steered to the socket, but not listed")
        self.assertFalse(self.reach(self.port), "the socket's own port, not listed")

    def test_control_every_destination_admitted(self):
        # Control: the same steering with a rule admitting every destination
        # port shows that the refusals above come from the filter.
        service = self.serve(["-f", "ports", "--port", str(self.port),
                              "--set", "rules,0," + rule(destination=(1, 65535))],
                             netns=self.net.server)
        self.steer(service)
        for port in (self.port, self.port + 1, self.port + 3, self.port + 4):
            self.assertTrue(self.reach(port), f"port {port}")
        self.assertFalse(self.reach(self.port + 5), "not steered: nothing listens there")


if __name__ == "__main__":
    unittest.main()
