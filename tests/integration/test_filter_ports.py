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

from harness import REFUSED, AlfTestCase, NetnsPair, Peer, free_port

PORT_STEER = os.environ.get("ALF_PORT_STEER", "port_steer")


def rule(source=None, destination=None):
    r = {}
    if source:
        r["source"] = {"first": source[0], "last": source[1]}
    if destination:
        r["destination"] = {"first": destination[0], "last": destination[1]}
    return json.dumps(r)


def free_source_ports(candidates, src, count):
    """`count` of the candidate source ports that `src` can bind right now."""
    found = []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((src, port))
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} source ports free among {list(candidates)[:3]}...")


class SourcePorts(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def from_port(self, source_port, src):
        return Peer("127.0.0.1", self.port, src=src, sport=source_port)

    def test_privileged_source_ports_admitted_others_refused(self):
        self.serve(["-f", "ports", "--port", str(self.port), "--set", "rules,0," + rule(source=(1, 1023))])
        # Each admitted attempt from a source port of its own: no 4-tuple is used twice.
        privileged = free_source_ports(range(1000, 600, -1), "127.0.0.2", 2)
        before, after = (self.from_port(p, "127.0.0.2") for p in privileged)
        [unprivileged] = free_source_ports(range(1024, 1500), "127.0.0.3", 1)
        self.assert_dropped((before, after), self.from_port(unprivileged, "127.0.0.3"), msg="1024 is not privileged")
        self.assert_dropped(self.from_port(before.sport, "127.0.0.4"), Peer("127.0.0.1", self.port),
                            msg="an ephemeral source port is refused")

    def test_several_rules_and_the_empty_list(self):
        a, b = free_port(), free_port()
        self.serve(["-f", "ports", "--port", str(self.port),
                    "--set", "rules,0," + rule(source=(a, a)), "--set", "rules,1," + rule(source=(b, b))])
        self.assert_served(self.from_port(a, "127.0.0.4"), self.from_port(b, "127.0.0.4"))
        self.assert_dropped((self.from_port(a, "127.0.0.5"), self.from_port(b, "127.0.0.5")),
                            Peer("127.0.0.1", self.port))

        empty = free_port()
        service = self.serve(["-f", "ports", "--port", str(empty)])
        self.assert_silent(service, f"*:{empty}", Peer("127.0.0.1", empty, src="127.0.0.6", sport=a),
                           msg="no rules: nothing admitted")


class DestinationPorts(AlfTestCase):
    """One listening socket receives ports P+1..P+4 besides its own P."""

    def setUp(self):
        super().setUp()
        self.net = self.enterContext(NetnsPair())
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
        return self.net.from_client(self.net.server_v4, port)

    def test_steered_ports_admitted_by_destination(self):
        service = self.serve(["-f", "ports", "--port", str(self.port),
                              "--set", "rules,0," + rule(destination=(self.port + 1, self.port + 2))],
                             netns=self.net.server)
        self.steer(service)
        self.assert_served(self.reach(self.port + 2), msg="destination port listed")
        self.assert_dropped(self.reach(self.port + 1), self.reach(self.port + 3),
                            msg="steered to the socket, but not listed")
        self.assert_dropped(self.reach(self.port + 1), self.reach(self.port), msg="the socket's own port, not listed")

    def test_control_every_destination_admitted(self):
        # Control: the same steering with a rule admitting every destination
        # port shows that the refusals above come from the filter.
        service = self.serve(["-f", "ports", "--port", str(self.port),
                              "--set", "rules,0," + rule(destination=(1, 65535))],
                             netns=self.net.server)
        self.steer(service)
        self.assert_served(*[self.reach(port) for port in (self.port, self.port + 1, self.port + 3, self.port + 4)])
        self.assert_outcome(self.reach(self.port + 5), REFUSED, "not steered: nothing listens there")

if __name__ == "__main__":
    unittest.main()
