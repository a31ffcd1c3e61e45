"""The built-in "knocking" filter with real knocks from examples/knock.py:
refused before the knock, admitted after the right sequence, refused after a
wrong one, after a slow one and once the admission has run out."""

import json
import subprocess
import sys
import time
import unittest

from harness import AlfTestCase, Connection, Peer, free_port, source_path


class Knocking(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.knocks = [free_port(), free_port(), free_port()]
        self.port = free_port()

    def start(self, window_ms=10000, open_ms=30000, udp=False):
        """The service, ready once a guard source that knocked is served:
        self.guard, the admitted peer that brackets every refusal."""
        config = {"sequence": self.knocks, "window_ms": window_ms, "open_ms": open_ms}
        args = ["-f", "knocking", "--port", str(self.port), "--set", "config,0," + json.dumps(config)]
        if udp:
            args += ["--type", "SOCK_DGRAM"]
        self.serve(args)
        self.guard = self.peer("127.0.0.50", udp=udp)
        self.knock("127.0.0.50", udp=udp)
        self.assert_served(self.guard, msg="the guard knocked")

    def peer(self, source, udp=False):
        return Peer("::1" if ":" in source else "127.0.0.1", self.port, src=source, udp=udp)

    def knock(self, source, knocks=None, delay=0.05, udp=False):
        host = "::1" if ":" in source else "127.0.0.1"
        cmd = [sys.executable, source_path("examples", "knock.py"), "--source", source, "--delay", str(delay)]
        if udp:
            cmd.append("--udp")
        cmd += [host, str(self.port)] + [str(k) for k in (knocks or self.knocks)]
        subprocess.run(cmd, check=True, timeout=30)

    def test_tcp_ipv4_refused_before_the_knock_admitted_after(self):
        self.start()
        self.assert_dropped(self.guard, self.peer("127.0.0.2"), msg="no knock yet: refused")
        self.knock("127.0.0.2")
        self.assert_served(self.peer("127.0.0.2"), msg="right sequence: admitted")
        self.assert_served(self.peer("127.0.0.2"), msg="and again")
        self.assert_dropped(self.guard, self.peer("127.0.0.3"), msg="admission is per source address")

    def test_tcp_ipv6_refused_before_the_knock_admitted_after(self):
        self.start()
        self.assert_dropped(self.guard, self.peer("::1"), msg="no knock yet: refused")
        self.knock("::1")
        self.assert_served(self.peer("::1"), msg="right sequence: admitted")

    def test_wrong_knocks_refused(self):
        self.start()
        k1, k2, k3 = self.knocks
        wrong = free_port()
        self.knock("127.0.0.4", [k1, wrong, k2, k3])
        self.assert_dropped(self.guard, self.peer("127.0.0.4"), msg="a wrong knock in between")
        self.knock("127.0.0.5", [k2, k1, k3])
        self.assert_dropped(self.guard, self.peer("127.0.0.5"), msg="out of order")
        self.knock("127.0.0.6", [k1, k2])
        self.assert_dropped(self.guard, self.peer("127.0.0.6"), msg="incomplete")
        # A wrong knock starts the sequence over; it does not ban the source.
        self.knock("127.0.0.4")
        self.assert_served(self.peer("127.0.0.4"))

    def test_knocks_slower_than_the_window_refused(self):
        self.start(window_ms=1000)
        self.knock("127.0.0.7", delay=0.6)  # the third knock comes at least 1.2 s after the first
        self.assert_dropped(self.guard, self.peer("127.0.0.7"), msg="sequence slower than the window")
        self.knock("127.0.0.8", delay=0.05)
        self.assert_served(self.peer("127.0.0.8"), msg="the same, in time")

    def test_admission_runs_out_but_established_connections_stay(self):
        open_ms = 3000
        self.start(open_ms=open_ms)
        self.knock("127.0.0.9")
        admitted_at = time.monotonic()
        established = Connection("127.0.0.1", self.port, src="127.0.0.9")
        self.addCleanup(established.close)
        self.assert_served(established)
        # The admission's end is a point in time: waiting for it is the test.
        time.sleep(max(0.0, admitted_at + open_ms / 1000 + 0.3 - time.monotonic()))
        # The guard's admission has run out too: the established connection brackets the refusal.
        self.assert_dropped(established, self.peer("127.0.0.9"), msg="admission over: new connections refused")
        self.assert_served(established, payload=b"still here\n", msg="the established connection flows on")

    def test_udp_knocks_with_datagrams(self):
        self.start(udp=True)
        self.assert_dropped(self.guard, self.peer("127.0.0.10", udp=True), msg="no knock yet: no reply")
        self.knock("127.0.0.10", udp=True)
        self.assert_served(self.peer("127.0.0.10", udp=True), msg="admitted")
        self.assert_dropped(self.guard, self.peer("::1", udp=True), msg="another source still refused")

if __name__ == "__main__":
    unittest.main()
