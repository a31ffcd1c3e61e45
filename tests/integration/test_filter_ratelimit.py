"""The built-in "ratelimit" filter with real connections: the connection past
the burst is refused and admitted again after the refill, while an
established connection keeps flowing; buckets are per source prefix."""

import json
import time
import unittest

from harness import AlfTestCase, Connection, Peer, free_port

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
        source = Peer("127.0.0.1", self.port, src="127.0.0.2")
        established = Connection("127.0.0.1", self.port, src="127.0.0.2")
        self.addCleanup(established.close)
        started = time.monotonic()
        self.assert_served(established, msg="token 1")
        self.assert_served(source, msg="token 2")
        self.assert_served(source, msg="token 3")
        self.assert_dropped(established, source, timeout=REFUSED_TIMEOUT, msg="past the burst: refused")
        self.assertLess(time.monotonic() - started, period, "premise: no token came back before the fourth attempt")
        for i in range(20):
            self.assert_served(established, payload=b"data %d\n" % i, msg="the established connection is never cut")
        self.assert_served(Peer("127.0.0.1", self.port, src="127.0.0.3"), msg="another source has its own bucket")
        # The refill is a point in time: waiting for it is the test.
        time.sleep(max(0.0, started + period + 0.2 - time.monotonic()))
        self.assert_served(source, msg="admitted again after the refill")
        self.assert_dropped(established, source, timeout=REFUSED_TIMEOUT, msg="the refill was one token")
        self.assert_served(established, payload=b"bye\n")

    def test_sources_share_the_bucket_of_their_prefix(self):
        self.start({"rate": 1, "period_ms": 60000, "burst": 2, "prefix4": 24, "prefix6": 64})
        self.assert_served(Peer("127.0.0.1", self.port, src="127.0.0.2"), Peer("127.0.0.1", self.port, src="127.0.0.3"))
        # 127.0.1.0/24 is another bucket: its two tokens serve the guard before and after.
        self.assert_dropped(Peer("127.0.1.1", self.port, src="127.0.1.1"),
                            Peer("127.0.0.1", self.port, src="127.0.0.4"), timeout=REFUSED_TIMEOUT,
                            msg="127.0.0.0/24 has used its burst")
        self.assert_served(Peer("::1", self.port), Peer("::1", self.port), msg="IPv6 ::1/64")
        self.assert_dropped(Peer("127.0.2.1", self.port, src="127.0.2.1"), Peer("::1", self.port),
                            timeout=REFUSED_TIMEOUT, msg="::/64 has used its burst")

    def test_udp_datagrams_past_the_burst_dropped(self):
        self.start({"rate": 1, "period_ms": 60000, "burst": 3}, udp=True)
        source = Peer("127.0.0.1", self.port, src="127.0.0.2", udp=True)
        for i in range(3):
            self.assert_served(source, payload=b"d%d" % i)
        # Another source has its own bucket: it brackets the refusals.
        self.assert_dropped(Peer("127.0.0.1", self.port, src="127.0.0.3", udp=True), source, source,
                            timeout=REFUSED_TIMEOUT)

if __name__ == "__main__":
    unittest.main()
