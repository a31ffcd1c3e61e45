"""The built-in "ratelimit" filter with real connections: the connection past
the burst is refused and admitted again after the refill, while an
established connection keeps flowing; buckets are per source prefix."""

import json
import time
import unittest

from harness import AlfTestCase, Connection, free_port, tcp_echo, udp_exchange

# A refused SYN is retransmitted after 1 s: give up before that, so that a
# retransmission cannot take a token that came back meanwhile.
REFUSED_TIMEOUT = 0.5


class RateLimit(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def start(self, config, udp=False):
        args = ["-f", "ratelimit", "--port", str(self.port), "--set", "config,0," + json.dumps(config)]
        if udp:
            args += ["--type", "SOCK_DGRAM"]
        self.serve(args)

    def test_past_the_burst_refused_refilled_later_established_flows(self):
        # One token every 3 s, bursts of 3: the four connections below take
        # milliseconds, so no token comes back before the fourth.
        period = 3.0
        self.start({"rate": 1, "period_ms": int(period * 1000), "burst": 3})
        established = Connection("127.0.0.1", self.port, src="127.0.0.2")
        self.addCleanup(established.close)
        started = time.monotonic()
        self.assertEqual(established.echo(), b"ping\n", "token 1")
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.2"), b"ping\n", "token 2")
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.2"), b"ping\n", "token 3")
        self.assertIsNone(tcp_echo("127.0.0.1", self.port, src="127.0.0.2", timeout=REFUSED_TIMEOUT),
                          "past the burst: refused")
        self.assertLess(time.monotonic() - started, period, "premise: no token came back before the fourth attempt")
        for i in range(20):
            self.assertEqual(established.echo(b"data %d\n" % i), b"data %d\n" % i,
                             "the established connection is never cut")
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.3"), b"ping\n", "another source has its own bucket")
        time.sleep(max(0.0, started + period + 0.2 - time.monotonic()))
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.2"), b"ping\n", "admitted again after the refill")
        self.assertIsNone(tcp_echo("127.0.0.1", self.port, src="127.0.0.2", timeout=REFUSED_TIMEOUT),
                          "the refill was one token")
        self.assertEqual(established.echo(b"bye\n"), b"bye\n")

    def test_sources_share_the_bucket_of_their_prefix(self):
        self.start({"rate": 1, "period_ms": 60000, "burst": 2, "prefix4": 24, "prefix6": 64})
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.2"), b"ping\n")
        self.assertEqual(tcp_echo("127.0.0.1", self.port, src="127.0.0.3"), b"ping\n")
        self.assertIsNone(tcp_echo("127.0.0.1", self.port, src="127.0.0.4", timeout=REFUSED_TIMEOUT),
                          "127.0.0.0/24 has used its burst")
        self.assertEqual(tcp_echo("127.0.1.1", self.port, src="127.0.1.1"), b"ping\n", "127.0.1.0/24 is another bucket")
        self.assertEqual(tcp_echo("::1", self.port), b"ping\n", "IPv6 ::1/64")
        self.assertEqual(tcp_echo("::1", self.port), b"ping\n")
        self.assertIsNone(tcp_echo("::1", self.port, timeout=REFUSED_TIMEOUT), "::/64 has used its burst")

    def test_udp_datagrams_past_the_burst_dropped(self):
        self.start({"rate": 1, "period_ms": 60000, "burst": 3}, udp=True)
        replies = [udp_exchange("127.0.0.1", self.port, payload=b"d%d" % i, src="127.0.0.2", timeout=REFUSED_TIMEOUT)
                   for i in range(5)]
        self.assertEqual(replies, [b"d0", b"d1", b"d2", None, None])
        self.assertEqual(udp_exchange("127.0.0.1", self.port, src="127.0.0.3"), b"ping", "another source")


if __name__ == "__main__":
    unittest.main()
