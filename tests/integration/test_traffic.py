"""alfctl stats and alfctl log: what a running filter counted and the drops
it logged, checked against traffic the test makes itself."""

import json
import select
import socket
import subprocess
import time

from harness import ALFCTL, TIMEOUT, AlfTestCase, Peer, Run, alfctl, exchange_all, free_port, source_path


class Traffic(AlfTestCase):
    def start(self, *args, udp=False):
        self.port = free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.name = f"traffic-{self.port}"
        listen = ["-l", f"udp:{self.port}"] if udp else ["--port", str(self.port)]
        return self.serve(["--name", self.name] + listen + list(args))

    def peer(self, src, udp=False):
        return Peer("127.0.0.1", self.port, src=src, udp=udp)

    def ctl(self, *args):
        r = alfctl(*args)
        self.assertEqual(r.returncode, 0, r)
        return r.stdout

    def counters(self):
        stats = json.loads(self.ctl("stats", self.name, "--json"))
        rows = {(row["family"], row["protocol"]): row for row in stats["counters"]}
        return rows, stats["log"]

    def events(self):
        return [json.loads(line) for line in self.ctl("log", self.name, "--json").splitlines()]

    def test_counters_count_what_passed_and_what_was_dropped(self):
        self.start("--allow", "127.0.0.1")
        rows, _ = self.counters()
        self.assertEqual(rows[("IPv4", "TCP")]["dropped"]["packets"], 0)
        self.assert_served(*[self.peer("127.0.0.1")] * 3)
        refused = [self.peer("127.0.0.2")] * 2
        for outcome in exchange_all(refused):
            self.assertEqual(outcome.kind, TIMEOUT, outcome)
        rows, log = self.counters()
        tcp4 = rows[("IPv4", "TCP")]
        # Each refused client sent a SYN or two (a retransmission); every one was dropped.
        self.assertGreaterEqual(tcp4["dropped"]["packets"], 2)
        self.assertLessEqual(tcp4["dropped"]["packets"], 6)
        # Three served connections: at least the SYN, the handshake's ACK and the data of each.
        self.assertGreaterEqual(tcp4["passed"]["packets"], 9)
        self.assertGreater(tcp4["passed"]["bytes"], tcp4["passed"]["packets"] * 20, "TCP headers at least")
        self.assertEqual(rows[("IPv6", "TCP")]["passed"]["packets"], 0)
        self.assertEqual(log["logged"], tcp4["dropped"]["packets"], "every drop logged, under the rate")
        text = self.ctl("stats", self.name)
        self.assertIn("IPv4 TCP", text)
        self.assertIn(f"{tcp4['dropped']['packets']} (", text)

    def test_a_service_on_tcp_and_udp_counts_each_by_its_protocol(self):
        # One filter on both sockets: it reads each packet's protocol (a
        # service on one protocol has it from alfwrapper instead).
        self.port = free_port()
        udp_port = free_port(socket.SOCK_DGRAM)
        self.name = f"traffic-{self.port}"
        self.serve(["--name", self.name, "--port", str(self.port), "-l", f"udp:{udp_port}", "--allow", "127.0.0.1"])
        self.assert_served(self.peer("127.0.0.1"))
        self.assert_served(Peer("127.0.0.1", udp_port, src="127.0.0.1", udp=True))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.2", 0))
            for i in range(7):
                s.sendto(b"x", ("127.0.0.1", udp_port))
        rows, _ = self.counters()
        self.assertEqual(rows[("IPv4", "UDP")]["dropped"]["packets"], 7)
        self.assertEqual(rows[("IPv4", "UDP")]["passed"]["packets"], 1)
        self.assertGreaterEqual(rows[("IPv4", "TCP")]["passed"]["packets"], 3)
        self.assertEqual(rows[("IPv4", "TCP")]["dropped"]["packets"], 0)

    def test_the_log_names_peer_local_end_and_the_deciding_rule(self):
        self.start("--allow", "127.0.0.1", "--deny", "127.0.0.3")
        admitted = self.peer("127.0.0.1")
        self.assert_dropped(admitted, self.peer("127.0.0.2"), self.peer("127.0.0.3"))
        events = self.events()
        peers = {e["peer"]["address"]: e for e in events}
        self.assertEqual(set(peers), {"127.0.0.2", "127.0.0.3"}, events)
        for event in events:
            self.assertEqual((event["verdict"], event["protocol"]), ("drop", "tcp"))
            self.assertEqual(event["local"], {"address": "127.0.0.1", "port": self.port})
        self.assertEqual(peers["127.0.0.2"]["rule"], "no rule: default deny")
        self.assertEqual(peers["127.0.0.3"]["rule"], "deny 127.0.0.3/32")
        text = self.ctl("log", self.name)
        self.assertRegex(text, rf"drop  tcp 127\.0\.0\.3:\d+ > 127\.0\.0\.1:{self.port}  deny 127\.0\.0\.3/32")
        # Reading takes nothing away.
        self.assertEqual(len(self.events()), len(events))

    def assert_drops_of_127_0_0_2_logged(self):
        """127.0.0.1 served, 127.0.0.2 refused, and its drops logged whole:
        TCP, its port, the service's end."""
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))
        events = self.events()
        self.assertEqual({e["peer"]["address"] for e in events}, {"127.0.0.2"}, events)
        for event in events:
            self.assertEqual((event["verdict"], event["protocol"]), ("drop", "tcp"))
            self.assertEqual(event["local"], {"address": "127.0.0.1", "port": self.port})
            self.assertNotEqual(event["peer"]["port"], 0, event)

    def test_a_library_filters_drops_are_logged_from_the_packet_it_parsed(self):
        # whitelist returns its verdicts through alf_verdict() with the
        # packet it parsed; the rules filter above logs through
        # alf_verdict_protocol(), which parses only what it logs.
        self.start("-f", "whitelist", "--set", "allow4,0,127.0.0.1/32")
        self.assert_drops_of_127_0_0_2_logged()

    def test_filters_compiled_from_source_log_through_the_linked_log_functions(self):
        # A filter alfwrapper compiles declares the drop log's functions
        # only; they are linked in from those compiled with alfwrapper.
        # whitelist.c logs the packet it parsed (alf_log_record), subnets.c
        # the packet as it arrived (alf_log_record_unparsed).
        for source, args in (("whitelist.c", ["--set", "allow4,0,127.0.0.1/32"]),
                             ("subnets.c", ["--allow", "127.0.0.1"])):
            with self.subTest(source):
                service = self.start("--no-cache", "-f", source_path("filters", source), *args)
                self.assert_drops_of_127_0_0_2_logged()
                service.stop()

    def test_drops_the_filter_did_not_parse_are_logged_as_they_arrived(self):
        # The rules filter logs a packet's first bytes from its IP header
        # (all of a shorter one), which alfctl log parses: an IPv6 SYN is
        # longer than what is kept, a 1-byte datagram from a source port of
        # the test's choice shorter.
        self.start("--allow", "127.0.0.1", "-l", f"udp:{self.udp_port()}")
        self.assert_dropped(self.peer("127.0.0.1"), Peer("::1", self.port, src="::1"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.2", 0))
            sport = s.getsockname()[1]
            s.sendto(b"x", ("127.0.0.1", self.udp))
        self.assert_served(Peer("127.0.0.1", self.udp, src="127.0.0.1", udp=True))
        events = self.events()
        by_protocol = {e.get("protocol"): e for e in events}
        self.assertEqual(set(by_protocol), {"tcp", "udp"}, events)
        tcp, udp = by_protocol["tcp"], by_protocol["udp"]
        self.assertEqual(tcp["peer"]["address"], "::1")
        self.assertNotEqual(tcp["peer"]["port"], 0)
        self.assertEqual(tcp["local"], {"address": "::1", "port": self.port})
        self.assertEqual(tcp["rule"], "no rule: default deny")
        self.assertEqual(udp["peer"], {"address": "127.0.0.2", "port": sport})
        self.assertEqual(udp["local"], {"address": "127.0.0.1", "port": self.udp})

    def udp_port(self):
        self.udp = free_port(socket.SOCK_DGRAM)
        return self.udp

    def test_over_the_rate_drops_are_counted_not_logged(self):
        self.start("--allow", "127.0.0.1", "--log-rate", "2", udp=True)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.2", 0))
            for i in range(50):
                s.sendto(b"x", ("127.0.0.1", self.port))
        self.assert_served(self.peer("127.0.0.1", udp=True))
        rows, log = self.counters()
        self.assertEqual(rows[("IPv4", "UDP")]["dropped"]["packets"], 50)
        self.assertEqual(log["logged"] + log["suppressed"], 50)
        # 2 a second for the service: one a second on each of the two CPUs,
        # and the 50 datagrams may straddle a second's end.
        self.assertLessEqual(log["logged"], 4)
        events = self.events()
        self.assertEqual(events[-1], {"not_logged": log["suppressed"]})
        self.assertEqual(len(events) - 1, log["logged"])
        self.assertIn(f"# {log['suppressed']} drops over the log's rate", self.ctl("log", self.name))

    def test_log_rate_zero_logs_nothing_and_counts_still(self):
        self.start("--allow", "127.0.0.1", "--log-rate", "0")
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))
        rows, log = self.counters()
        self.assertGreaterEqual(rows[("IPv4", "TCP")]["dropped"]["packets"], 1)
        self.assertEqual(log, {"logged": 0, "suppressed": 0})
        self.assertEqual(self.events(), [])

    def follow(self, *args):
        """alfctl ARGS running on, its stdout read a line at a time."""
        process = subprocess.Popen([ALFCTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return process

    def next_line(self, process, timeout=5.0):
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        self.assertTrue(ready, f"no line from {process.args} in {timeout} s")
        return json.loads(process.stdout.readline())

    def test_follow_prints_drops_as_they_come(self):
        self.start("--allow", "127.0.0.1")
        follower = self.follow("log", self.name, "--follow", "--json")
        time.sleep(0.5)  # it has read the (empty) log
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))
        event = self.next_line(follower)
        self.assertEqual((event["verdict"], event["peer"]["address"]), ("drop", "127.0.0.2"))

    def test_watch_prints_the_counters_again(self):
        self.start("--allow", "127.0.0.1")
        watcher = self.follow("stats", self.name, "--watch", "0.2", "--json")
        first = self.next_line(watcher)
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))
        def dropped(stats):
            return next(row["dropped"]["packets"] for row in stats["counters"]
                        if (row["family"], row["protocol"]) == ("IPv4", "TCP"))
        later = first
        deadline = time.monotonic() + 5
        while dropped(later) == dropped(first) and time.monotonic() < deadline:
            later = self.next_line(watcher)
        self.assertGreater(dropped(later), dropped(first))

    def rule_hits(self, *args):
        stats = json.loads(self.ctl("stats", self.name, "--json", *args))
        return {f"{row['verdict']} {row['prefix'] or 'default'}": row["packets"] for row in stats["rules"]}, stats

    def test_rule_hits_name_the_rules_that_decided_the_packets(self):
        self.start("--rule-hits", "--allow", "127.0.0.1", "--allow", "127.0.0.3", "--deny", "127.0.0.2")
        self.assertEqual(self.rule_hits("--rules", "10")[0], {})
        self.assert_served(*[self.peer("127.0.0.1")] * 3, self.peer("127.0.0.3"))
        for outcome in exchange_all([self.peer("127.0.0.2")] * 2):
            self.assertEqual(outcome.kind, TIMEOUT, outcome)
        hits, stats = self.rule_hits("--rules", "10")
        tcp4 = next(row for row in stats["counters"] if (row["family"], row["protocol"]) == ("IPv4", "TCP"))
        # Every packet is the hit of the one rule that decided it.
        self.assertEqual(sum(hits.values()), tcp4["passed"]["packets"] + tcp4["dropped"]["packets"], hits)
        self.assertEqual(hits["deny 127.0.0.2/32"], tcp4["dropped"]["packets"])
        self.assertGreaterEqual(hits["allow 127.0.0.1/32"], 9, "three connections: SYN, ACK and data each")
        self.assertGreaterEqual(hits["allow 127.0.0.3/32"], 3)
        self.assertLess(hits["allow 127.0.0.3/32"], hits["allow 127.0.0.1/32"])
        self.assertEqual(list(hits)[0], "allow 127.0.0.1/32", "most first")
        text = self.ctl("stats", self.name, "--rules", "1")
        self.assertIn(f"{hits['allow 127.0.0.1/32']}  allow 127.0.0.1/32", text)
        self.assertIn("(2 more rules with hits)", text)
        self.assertNotIn("127.0.0.3", text)
        # A rule changed in place counts from the change on.
        self.ctl("rules", self.name, "deny", "127.0.0.3")
        hits, _ = self.rule_hits("--rules", "10")
        self.assertNotIn("deny 127.0.0.3/32", hits)
        for outcome in exchange_all([self.peer("127.0.0.3")]):
            self.assertEqual(outcome.kind, TIMEOUT, outcome)
        self.assert_served(self.peer("127.0.0.1"))
        hits, _ = self.rule_hits("--rules", "10")
        self.assertGreaterEqual(hits["deny 127.0.0.3/32"], 1)
        self.assertLessEqual(hits["deny 127.0.0.3/32"], 3)

    def test_rule_hits_errors(self):
        self.start("--allow", "127.0.0.1")
        r = alfctl("stats", self.name, "--rules", "5")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("counts no hits per rule; start it with alfwrapper --rule-hits", r.stderr)
        for bad in ("0", "x", "-1"):
            r = alfctl("stats", self.name, "--rules", bad)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("--rules", r.stderr)
        r = Run(["--rule-hits", "-f", "private", "--port", str(free_port()), "--dry-run", "--", "true"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--rule-hits: filter private takes no rules", r.stderr)
        r = Run(["--rule-hits", "--classic", "--allow", "127.0.0.1", "-l", f"udp:127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                 "--dry-run", "--", "true"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--classic and --rule-hits: a classic BPF program counts nothing per rule", r.stderr)

    def test_errors(self):
        self.start("--allow", "127.0.0.1")
        for verb in ("stats", "log"):
            r = alfctl(verb, "no-such-service")
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("no running service is named no-such-service", r.stderr)
        r = alfctl("stats", self.name, "--watch", "0")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--watch 0: give the seconds between prints", r.stderr)
        r = alfctl("log", self.name, "extra")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("unexpected argument 'extra'", r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
