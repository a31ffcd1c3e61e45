"""alfctl test gives the verdicts real traffic gets: the same packets (source
address and port, protocol) sent for real to a service behind alfwrapper,
and run through the filter with BPF_PROG_TEST_RUN, for IPv4 and IPv6, TCP
and UDP, with the library filters and a test filter."""

import json
import random
import unittest

from harness import ECHO, AlfTestCase, LoopbackNetns, Peer, alfctl, exchange_all, source_path

# Addresses the test puts on the loopback device of its own namespace.
SOURCES = ["127.0.0.1", "10.1.2.3", "192.0.2.7", "::1", "fd00::7", "2001:db8::7"]

EVEN_PORTS_ONLY = """\
#include <alfwrapper/filter.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	struct alf_packet p;

	if (alf_packet_parse(skb, &p) < 0)
		return ALF_DROP;
	return p.sport % 2 == 0 ? ALF_PASS : ALF_DROP;
}
"""

def endpoint(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class VerdictsMatchTraffic(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.netns = self.enterContext(LoopbackNetns([a for a in SOURCES if a not in ("127.0.0.1", "::1")])).name
        self.port = random.randrange(20000, 30000)
        self.next_sport = random.randrange(40000, 50000) & ~1

    def cases(self, proto):
        """(proto, source, source port, port): an even and an odd port from every source."""
        result = []
        for source in SOURCES:
            for sport in (self.next_sport, self.next_sport + 1):
                result.append((proto, source, sport, self.port))
            self.next_sport += 2
        return result

    def live_verdicts(self, filter_args, proto, cases):
        """Every case sent for real at once: "pass" when answered, "drop"
        when met by exactly a socket filter's drop. 10.1.2.3 from an even
        port, which every filter here admits, brackets them."""
        udp = proto == "udp"
        kind = ["--type", "SOCK_DGRAM"] if udp else []
        service = self.serve(["--port", str(self.port)] + kind + filter_args, netns=self.netns)
        guard_ports = self.next_sport, self.next_sport + 2
        self.next_sport += 4
        before, after = (Peer("10.1.2.3", self.port, src="10.1.2.3", sport=p, netns=self.netns, udp=udp)
                         for p in guard_ports)
        self.assert_outcome(before, ECHO, "before the cases: the service must be serving")
        peers = [Peer(src, port, src=src, sport=sport, netns=self.netns, udp=udp) for _, src, sport, port in cases]
        verdicts = []
        for peer, outcome in zip(peers, exchange_all(peers)):
            self.assertIn(outcome.kind, (ECHO, peer.dropped_kind()), f"{peer}: {outcome}")
            verdicts.append("pass" if outcome.kind == ECHO else "drop")
        self.assert_outcome(after, ECHO, "after the cases: the service must still be serving")
        service.stop()
        return verdicts

    def run_verdicts(self, filter_args, proto, cases):
        packets = [f"{p} {endpoint(src, sport)} > {endpoint(src, port)}" + (" len=4" if p == "udp" else "")
                   for p, src, sport, port in cases]
        r = alfctl("test", "--json", *filter_args, *packets)
        self.assertEqual(r.returncode, 0, r)
        return [result["verdict"] for result in json.loads(r.stdout)["results"]]

    def compare(self, filter_args):
        for proto in ("tcp", "udp"):
            cases = self.cases(proto)
            live = self.live_verdicts(filter_args, proto, cases)
            tested = self.run_verdicts(filter_args, proto, cases)
            for case, l, t in zip(cases, live, tested):
                with self.subTest(proto=proto, source=case[1], sport=case[2]):
                    self.assertEqual(t, l, f"alfctl test says {t}, real traffic got {l}")
            self.assertIn("pass", live, "some traffic must get through, or the comparison proves nothing")
            self.assertIn("drop", live, "some traffic must be dropped, or the comparison proves nothing")

    def test_whitelist_private(self):
        self.compare([source_path("filters", "whitelist-private.c")])

    def test_whitelist_with_map_entries(self):
        self.compare(["--set", "allow4,0,10.0.0.0/8", "--set", "allow6,0,2001:db8::/32",
                      source_path("filters", "whitelist.c")])

    def test_a_filter_judging_ports(self):
        self.compare([self.write("even_ports.c", EVEN_PORTS_ONLY)])


if __name__ == "__main__":
    unittest.main()
