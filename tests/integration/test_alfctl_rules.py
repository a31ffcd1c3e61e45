"""alfctl check and test with alfwrapper's map and rule inputs: --allow,
--deny and --rules-file run in the built-in subnets filter (eBPF) and in the
classic BPF program alike, with the same verdicts; the classic program is
checked and tested as nobody without any capability; --set-file and
--map-size reach the filter's maps as in alfwrapper."""

import json
import os
import shutil
import unittest

import harness
from harness import AlfTestCase, Run, alfctl as ctl, source_path

AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# Most specific wins, a tie denies, and with allow rules unmatched peers are refused.
RULES = ["--allow", "10.0.0.0/8", "--deny", "10.1.0.0/16", "--allow", "10.1.2.0/24",
         "--allow", "192.0.2.7", "--deny", "192.0.2.7",
         "--allow", "2001:db8::/32", "--deny", "2001:db8:1::/48"]
PACKETS = [
    ("tcp 10.9.9.9:40000 > 127.0.0.1:80", "pass"),        # the /8
    ("tcp 10.1.9.9:40000 > 127.0.0.1:80", "drop"),        # the /16 inside it
    ("udp 10.1.2.3:5000 > 0.0.0.0:53", "pass"),           # the /24 inside that
    ("tcp 192.0.2.7:40000 > [::]:80", "drop"),            # allow and deny of one host: deny
    ("udp 198.51.100.1:5000 > 127.0.0.1:53", "drop"),     # no rule: refused
    ("tcp [2001:db8::5]:40000 > [::1]:80", "pass"),
    ("udp [2001:db8:1::5]:5000 > [::]:53", "drop"),
    ("tcp [2001:db8:1::5]:40000 > [::1]:80 syn,ack", "drop"),
    ("tcp [2001:db9::1]:40000 > [::1]:80", "drop"),       # no rule: refused
]


def verdicts(run):
    return [result["verdict"] for result in json.loads(run.stdout)["results"]]


class AlfctlRules(AlfTestCase):
    def test_ebpf_and_classic_give_the_same_verdicts(self):
        packets = [p for p, _ in PACKETS]
        expected = [v for _, v in PACKETS]
        runs = {}
        for backend in ("--ebpf", "--classic"):
            r = ctl("test", "--json", backend, *RULES, *packets)
            self.assertEqual(r.returncode, 0, r)
            report = json.loads(r.stdout)
            self.assertEqual(report["filter"], "subnets")
            self.assertEqual(report["backend"], backend[2:])
            runs[backend] = verdicts(r)
            self.assertEqual(runs[backend], expected, f"{backend}: {r}")
        self.assertEqual(runs["--ebpf"], runs["--classic"])

        # --expect and expect= work on both back ends, and can fail.
        for backend in ("--ebpf", "--classic"):
            r = ctl("test", backend, *RULES, *[f"{p} expect={v}" for p, v in PACKETS])
            self.assertEqual(r.returncode, 0, r)
            r = ctl("test", backend, "--expect", "pass", *RULES, *packets)
            self.assertEqual(r.returncode, 3, r)
            self.assertIn("MISMATCH: expected pass", r.stdout)

    def test_a_rules_file_with_deny_only_admits_the_rest(self):
        rules = self.write("rules.txt", "# only refusals\ndeny 10.0.0.0/8\ndeny fd00::/8\n")
        packets = ["udp 10.0.0.1:5000 > 0.0.0.0:53", "udp 192.0.2.1:5000 > 0.0.0.0:53",
                   "udp [fd00::1]:5000 > [::]:53", "udp [::1]:5000 > [::]:53"]
        for backend in ("--ebpf", "--classic"):
            r = ctl("test", "--json", backend, "--rules-file", rules, *packets)
            self.assertEqual(r.returncode, 0, r)
            self.assertEqual(verdicts(r), ["drop", "pass", "drop", "pass"], f"{backend}: {r}")

    def test_check_on_both_back_ends(self):
        r = ctl("check", *RULES)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("subnets: built into alfwrapper, accepted by the verifier", r.stdout)
        self.assertRegex(r.stdout, r"map alf_rules4: .*max_entries \d+")
        r = ctl("check", "--classic", *RULES)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("subnets: rules compiled to classic BPF, accepted by the kernel", r.stdout)
        self.assertRegex(r.stdout, r"program: \d+ instructions of 4096 \(\d+%\)")
        # Root may load eBPF: the translation TCP sockets get without CAP_NET_ADMIN is checked too.
        self.assertRegex(r.stdout, r"eBPF translation: \d+ instructions, accepted by the verifier")

    def test_set_file_and_map_size_reach_the_maps(self):
        entries = self.write("allow4.txt", "0 192.0.2.0/24\n")
        whitelist = source_path("filters", "whitelist.c")
        r = ctl("check", whitelist, "--set-file", f"allow4={entries}", "--map-size", "allow4=8")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("value struct alf_ipv4_subnet (8 bytes), max_entries 8", r.stdout)
        r = ctl("test", "--json", whitelist, "--set-file", f"allow4={entries}",
                "tcp 192.0.2.9:1 > 127.0.0.1:80", "tcp 198.51.100.9:1 > 127.0.0.1:80")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(verdicts(r), ["pass", "drop"])

    def test_classic_as_nobody_without_capabilities(self):
        self.reachable_by_everyone()
        # Installed as they are: alfctl runs test through alfwrapper beside it.
        alfctl_copy = self.path("alfctl")
        for program, source in ((alfctl_copy, harness.ALFCTL), (self.path("alfwrapper"), harness.ALFWRAPPER)):
            shutil.copy(source, program)
            os.chmod(program, 0o755)
        packets = ["udp 127.0.0.1:5000 > 127.0.0.1:53", "udp 127.0.0.2:5000 > 127.0.0.1:53",
                   "udp [::1]:5000 > [::1]:53"]
        r = Run(["test", "--classic", "--allow", "127.0.0.1", "--allow", "::1",
                 packets[0] + " expect=pass", packets[1] + " expect=drop", packets[2] + " expect=pass"],
                binary=alfctl_copy, prefix=AS_NOBODY)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual([line.split()[0] for line in r.stdout.splitlines()], ["pass", "drop", "pass"])
        r = Run(["test", "--classic", "--allow", "127.0.0.1", "--expect", "pass", packets[1]],
                binary=alfctl_copy, prefix=AS_NOBODY)
        self.assertEqual(r.returncode, 3, r)
        # Without --classic alfctl chooses it, as alfwrapper would, and says so.
        r = Run(["check", "-v", "--allow", "127.0.0.1"], binary=alfctl_copy, prefix=AS_NOBODY)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("back end: classic BPF", r.stderr)
        self.assertIn("kernel.unprivileged_bpf_disabled", r.stderr)
        self.assertIn("rules compiled to classic BPF, accepted by the kernel", r.stdout)
        self.assertNotIn("eBPF translation:", r.stdout, "nobody loads no eBPF, the translation neither")
        # An eBPF filter cannot be loaded there: one message naming the restriction.
        r = Run(["check", source_path("filters", "whitelist.c")], binary=alfctl_copy, prefix=AS_NOBODY)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertEqual(len(r.stderr.splitlines()), 1, r)
        self.assertIn("CAP_BPF", r.stderr)

    def test_bad_rule_input_gives_one_message(self):
        for args, words in (
                (["--allow", "10.0.0.300/8"], "10.0.0.300"),
                (["--deny", "2001:db8::/129"], "2001:db8::/129"),
                (["--rules-file", self.path("missing.txt")], "missing.txt"),
                (["--rules-file", self.write("bad.txt", "allow 10.0.0.0/8\npermit 10.1.0.0/16\n")], "bad.txt"),
                (["--classic", "--allow", "10.0.0.0/8", source_path("filters", "whitelist.c")], "--classic"),
                (["--classic", "--allow", "10.0.0.0/8", "--set", "allow4,0,10.0.0.0/8"], "--classic"),
                (["--classic", "--ebpf", "--allow", "10.0.0.0/8"], "--classic and --ebpf"),
                ([source_path("filters", "whitelist.c"), "--allow", "10.0.0.0/8"], "does not take")):
            for verb in ("check", "test"):
                packet = ["tcp 10.0.0.1:1 > 127.0.0.1:80"] if verb == "test" else []
                r = ctl(verb, *args, *packet)
                self.assertEqual(r.returncode, 1, (args, r))
                self.assertEqual(len(r.stderr.splitlines()), 1, (args, r))
                self.assertIn(words, r.stderr, (args, r))
                self.assertEqual(r.stdout, "", (args, r))
        r = ctl("test", "tcp 10.0.0.1:1 > 127.0.0.1:80")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no filter given", r.stderr)
        for verb in ("check", "test"):
            r = ctl(verb, "subnets", *(["udp 10.0.0.1:1 > 0.0.0.0:53"] if verb == "test" else []))
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("filter subnets needs rules", r.stderr)

    def test_help_documents_the_rule_inputs(self):
        for verb in ("check", "test"):
            text = ctl(verb, "--help").stdout
            for option in ("--allow", "--deny", "--rules-file", "--set-file", "--map-size", "--classic", "subnets"):
                self.assertIn(option, text, verb)
        self.assertIn("protocol word", ctl("test", "--help").stdout)


if __name__ == "__main__":
    unittest.main()
