"""alfctl rules: a running service's rules shown and changed without a
restart, atomically, with real clients before and after each change."""

import json
import os
import signal
import time

from harness import ALFCTL, AS_NOBODY, ECHO, AlfTestCase, Load, Peer, Run, alfctl, free_port, wait_until


class LiveRules(AlfTestCase):
    def start(self, *rules, **kw):
        self.port = free_port()
        self.name = f"live-{self.port}"
        self.service = self.serve(["--name", self.name, "--port", str(self.port)] + list(rules), **kw)
        return self.service

    def peer(self, src):
        return Peer("127.0.0.1", self.port, src=src)

    def rules(self, *args, ok=True):
        r = alfctl("rules", self.name, *args)
        self.assertEqual(r.returncode, 0 if ok else 1, r)
        return r

    def shown(self):
        state = json.loads(self.rules("show", "--json").stdout)
        return state, [f"{rule['verdict']} {rule['prefix']}" for rule in state["rules"]]

    def test_allow_deny_and_remove_change_who_is_served(self):
        self.start("--allow", "127.0.0.0/8", "--deny", "127.0.0.2", "--deny", "127.0.0.3")
        admitted = self.peer("127.0.0.1")
        self.assert_dropped(admitted, self.peer("127.0.0.2"), self.peer("127.0.0.3"))
        self.assert_served(self.peer("127.0.0.4"))
        # The more general allow covers 127.0.0.2 again once its deny is gone.
        self.rules("remove", "127.0.0.2")
        self.assert_served(self.peer("127.0.0.2"))
        # allow replaces the rule of the same prefix, whatever it said.
        self.rules("allow", "127.0.0.3/32")
        self.assert_served(self.peer("127.0.0.3"))
        # Changed in place: only the named prefixes' ranges are rewritten.
        r = alfctl("rules", "-v", self.name, "deny", "127.0.0.4", "127.0.0.5")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stderr, r"changed in .*: find .*, lock .*, edit ", r)
        self.assert_dropped(admitted, self.peer("127.0.0.4"), self.peer("127.0.0.5"))
        state, rules = self.shown()
        self.assertEqual(sorted(rules), ["allow 127.0.0.0/8", "allow 127.0.0.3/32", "deny 127.0.0.4/32",
                                         "deny 127.0.0.5/32"])
        self.assertEqual(state["default"], "deny")
        self.assertEqual(state["slots"], 2)
        (listed,) = json.loads(alfctl("list", self.name, "--json").stdout)
        self.assertEqual(listed["rules"], 4)
        self.assertEqual(listed["maps"], [], "the rule tables, counters and log are alfwrapper's, not listed as maps")
        text = self.rules("show").stdout
        self.assertIn("allow 127.0.0.3/32\n", text)
        self.assertIn("peers no rule covers: deny", text)
        self.assertEqual(self.rules().stdout, text, "show is the default action")
        # replace puts a whole set in place: only 127.0.0.4 now.
        path = self.write("rules.txt", "allow 127.0.0.4\n")
        self.rules("replace", "--rules-file", path)
        self.assert_dropped(self.peer("127.0.0.4"), self.peer("127.0.0.1"), self.peer("127.0.0.3"))
        self.assertEqual(self.shown()[1], ["allow 127.0.0.4/32"])

    def assert_unchanged(self, before, *args, message):
        r = self.rules(*args, ok=False)
        self.assertIn(message, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r)
        self.assertEqual(self.shown(), before, "a failed change leaves the rules as they were")

    def test_bad_input_changes_nothing(self):
        self.start("--allow", "127.0.0.1", "--deny", "127.0.0.2")
        before = self.shown()
        self.assert_unchanged(before, "allow", "127.0.0.3", "10.0.0.300/8", message="'10.0.0.300' is not an IP address")
        self.assert_unchanged(before, "remove", "127.0.0.1", "127.0.0.9", message="no rule for 127.0.0.9/32 to remove")
        self.assert_unchanged(before, "replace", "--rules-file", self.path("missing.txt"), message="missing.txt")
        self.assert_unchanged(before, "frob", message="unknown action frob")
        self.assert_unchanged(before, "deny", message="deny needs at least one CIDR")
        self.assert_unchanged(before, "allow", "127.0.0.3", "--allow", "127.0.0.4", message="go with replace")
        # More ranges than the tables sized at launch hold.
        many = "".join(f"deny 10.{i >> 7 & 255}.{i * 2 & 255}.0/24\n" for i in range(1100))
        self.assert_unchanged(before, "replace", "--rules-file", self.write("many.txt", many),
                              message="rules make 2201 address ranges, and the running table holds 2048")
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))

    def test_services_are_found_by_name_or_pid_and_filters_without_rules_say_so(self):
        first = self.start("--allow", "127.0.0.1")
        r = alfctl("rules", "no-such-service")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no running service is named no-such-service", r.stderr)
        self.assertIn(self.name, r.stderr, "the names that run are listed")
        other = self.serve(["--name", self.name, "--port", str(free_port()), "--allow", "127.0.0.2"])
        r = alfctl("rules", self.name)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(f"2 running services are named {self.name}", r.stderr)
        self.assertIn("give the pid", r.stderr)
        self.assertIn(str(first.proc.pid), r.stderr)
        self.assertIn(str(other.proc.pid), r.stderr)
        r = alfctl("rules", str(other.proc.pid), "show")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("allow 127.0.0.2/32", r.stdout)
        self.serve(["--name", "live-whitelist", "--port", str(free_port()), "-f", "whitelist",
                    "--set", "allow4,0,127.0.0.1/32"])
        r = alfctl("rules", "live-whitelist", "allow", "127.0.0.2")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("takes no rules; its maps change with alfctl map live-whitelist", r.stderr)

    def test_a_running_service_is_chosen_over_an_exited_one_of_its_name(self):
        # A process the service started and left behind holds its socket,
        # and with it the filter, in the kernel after the service exits (as
        # a connection that closes slowly does, for a while).
        self.port = free_port()
        self.name = f"live-{self.port}"
        first = self.serve(["--name", self.name, "--port", str(self.port), "--allow", "127.0.0.1", "--",
                            "sh", "-c", "sleep 300 & exec sleep 300"], probe=None)
        def left_behind():  # the shell has started the sleep in the background and become the other
            with open(f"/proc/{first.proc.pid}/comm") as f:
                return f.read().strip() == "sleep"
        wait_until(left_behind, timeout=10, what="the first service to start its process")
        with open(f"/proc/{first.proc.pid}/task/{first.proc.pid}/children") as f:
            for child in f.read().split():  # the process left behind, stopped after the test
                self.addCleanup(os.kill, int(child), signal.SIGKILL)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        second = self.serve(["--name", self.name, "--port", str(free_port()), "--allow", "127.0.0.2"])
        listed = json.loads(alfctl("list", self.name, "--json").stdout)
        self.assertEqual(sorted((e["pid"], e["service_running"]) for e in listed),
                         sorted([(first.proc.pid, False), (second.proc.pid, True)]))
        self.assertEqual(self.shown()[1], ["allow 127.0.0.2/32"], "the running one's rules")

    def test_without_root_every_live_verb_says_what_it_needs(self):
        self.start("--allow", "127.0.0.1")
        before = self.shown()
        for args in (["rules", self.name, "allow", "127.0.0.2"], ["rules", self.name], ["stats", self.name],
                     ["log", self.name], ["list"]):
            r = Run(args, binary=ALFCTL, prefix=AS_NOBODY, cwd="/")
            self.assertEqual(r.returncode, 2, r)
            self.assertIn("needs root: CAP_SYS_ADMIN and CAP_BPF", r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r)
        self.assertEqual(self.shown(), before)

    def test_a_filter_started_with_one_slot_cannot_change(self):
        self.start("--allow", "127.0.0.1", "--map-size", "alf_rules4=1")
        before = self.shown()
        self.assertEqual(before[0]["slots"], 1)
        self.assert_unchanged(before, "allow", "127.0.0.2", message="hold one rule set")

    def test_a_custom_filter_with_rules_changes_too(self):
        source = self.write("own.c", """
            #include <alfwrapper/filter.h>
            #include <alfwrapper/rules.h>

            SEC("socket") int filter(struct __sk_buff *skb)
            {
                struct alf_packet p;

                if (alf_packet_parse(skb, &p) < 0 || alf_rules_decide(&p) != ALF_RULE_ALLOW)
                    return ALF_DROP;
                return ALF_PASS;
            }

            char LICENSE[] SEC("license") = "Dual BSD/GPL";
            """)
        self.start("--allow", "127.0.0.1", source)
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))
        self.rules("allow", "127.0.0.2")
        self.assert_served(self.peer("127.0.0.2"))

    def test_a_large_set_is_listed_as_given_at_launch_and_after_a_replace(self):
        # Sets this large have their list written beside the tables: what
        # show reads back, and what a change in place searches, is the set.
        def many(seed, count=60000):
            return [f"{'deny' if i % 4 == 0 else 'allow'} {10 + seed}.{i >> 8 & 255}.{i & 255}.0/24"
                    for i in range(count)]
        first, second = ["allow 127.0.0.1/32"] + many(0), ["allow 127.0.0.1/32"] + many(1)
        self.start("--rules-file", self.write("first.txt", "\n".join(first) + "\n"))
        self.assertEqual(sorted(self.shown()[1]), sorted(first))
        self.rules("replace", "--rules-file", self.write("second.txt", "\n".join(second) + "\n"))
        self.assertEqual(sorted(self.shown()[1]), sorted(second))
        self.rules("remove", "11.0.4.0/24")
        self.rules("deny", "11.0.5.0/24", "127.0.0.2")
        expected = [r for r in second if r.split()[1] not in ("11.0.4.0/24", "11.0.5.0/24")]
        self.assertEqual(sorted(self.shown()[1]), sorted(expected + ["deny 11.0.5.0/24", "deny 127.0.0.2/32"]))
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))

    def test_no_admitted_connection_fails_while_a_million_rules_are_replaced(self):
        # A million /32 denies in 10.0.0.0/8, then another million: the
        # admitted client connects every 10 ms throughout.
        def million(offset):
            return "".join(f"deny 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n" for i in range(offset, offset + 1000000))
        first = self.write("first.txt", "allow 127.0.0.1\n" + million(0))
        second = self.write("second.txt", "allow 127.0.0.1\n" + million(3000000))
        self.start("--rules-file", first, report_timeout=60)
        load = Load([self.peer("127.0.0.1")], interval=0.01, timeout=5.0)
        load.start()
        try:
            wait_until(lambda: load.count() >= 20, timeout=30, what="the load to run")
            started = time.monotonic()
            self.rules("replace", "--rules-file", second)
            took = time.monotonic() - started
            wait_until(lambda: load.count_started_after(started + took) >= 20, timeout=30,
                       what="the load to go on after the replace")
        finally:
            load.stop()
        attempts = load.results()
        failed = [str(a) for a in attempts if a.outcome.kind != ECHO]
        during = [a for a in attempts if started <= a.started <= started + took]
        self.assertEqual(failed, [], f"{len(attempts)} admitted attempts, {len(during)} during the replace")
        state = json.loads(self.rules("show", "--json").stdout)
        self.assertEqual(state["ipv4"]["rules"], 1000001)
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))


if __name__ == "__main__":
    import unittest
    unittest.main()
