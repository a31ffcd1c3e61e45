"""alfctl test gives the verdicts real traffic gets: the same packets (source
address and port, protocol) sent for real to a service behind alfwrapper,
and run through the filter with BPF_PROG_TEST_RUN, for IPv4 and IPv6, TCP
and UDP, with the library filters and a test filter."""

import json
import random
import subprocess
import sys
import unittest
import uuid

from harness import AlfTestCase, Service, alfctl, source_path

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

# Runs in the namespace: every exchange at once, each answered or timed out.
CLIENT = r"""
import json, socket, sys, threading
cases, timeout = json.loads(sys.argv[1]), 1.0
results = [None] * len(cases)

def exchange(i, proto, src, sport, port):
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(timeout)
        s.bind((src, sport))
        try:
            if proto == "tcp":
                s.connect((src, port))
                s.sendall(b"ping")
                results[i] = s.recv(4) == b"ping"
            else:
                s.sendto(b"ping", (src, port))
                results[i] = s.recv(4) == b"ping"
        except (socket.timeout, ConnectionError):
            results[i] = False

threads = [threading.Thread(target=exchange, args=(i, *c)) for i, c in enumerate(cases)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


def endpoint(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class VerdictsMatchTraffic(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.netns = "alf-v-" + uuid.uuid4().hex[:6]
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns])
        ip = ["ip", "-n", self.netns]
        subprocess.run(ip + ["link", "set", "lo", "up"], check=True)
        for address in SOURCES:
            if address not in ("127.0.0.1", "::1"):
                extra = ["nodad"] if ":" in address else []
                subprocess.run(ip + ["addr", "add", address + ("/128" if ":" in address else "/32"), "dev", "lo"]
                               + extra, check=True)
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
        kind = ["--type", "SOCK_DGRAM"] if proto == "udp" else []
        with Service(["--port", str(self.port)] + kind + filter_args, netns=self.netns) as service:
            service.wait_accepting(None, self.port, netns=self.netns)
            out = subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-c", CLIENT, json.dumps(cases)],
                                 capture_output=True, text=True, check=True).stdout
        return ["pass" if answered else "drop" for answered in json.loads(out)]

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
