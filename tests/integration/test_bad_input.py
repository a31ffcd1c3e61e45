"""Bad input: one clear message, a non-zero exit, and the program never starts."""

import os
import socket
import unittest

from harness import AlfTestCase, Run, free_port, source_path

WHITELIST = source_path("filters", "whitelist.c")


class BadInput(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.port = str(free_port())

    def run_alf(self, *args):
        r = Run(["--port", self.port] + list(args) + ["--", "touch", self.marker])
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "", r)
        self.assertTrue(r.stderr.startswith("alfwrapper: "), r)
        return r

    def test_syntax_error_points_at_file_line_column_with_caret(self):
        path = self.write("broken.c", """
            #include <alfwrapper/filter.h>

            SEC("socket") int filter(struct __sk_buff *skb)
            {
                return ALF_PASS +;
            }
            """)
        r = self.run_alf(path)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(f"{path}:5:", r.stderr)
        self.assertIn("return ALF_PASS +;", r.stderr)
        self.assertRegex(r.stderr, r"\n\s+\^")

    def test_verifier_rejection_shows_the_end_of_its_log(self):
        path = self.write("nullderef.c", """
            #include <alfwrapper/filter.h>

            struct {
                __uint(type, BPF_MAP_TYPE_HASH);
                __type(key, __u32);
                __type(value, __u32);
                __uint(max_entries, 1);
            } counts SEC(".maps");

            SEC("socket") int filter(struct __sk_buff *skb)
            {
                __u32 key = 0;
                __u32 *count = bpf_map_lookup_elem(&counts, &key);
                return *count;  /* no NULL check: the verifier refuses */
            }
            """)
        r = self.run_alf(path)
        self.assertIn("verifier rejected", r.stderr)
        self.assertIn("invalid mem access", r.stderr)

    def test_unknown_map_lists_the_maps_that_exist(self):
        r = self.run_alf("--set", "allow5,0,10.0.0.0/8", WHITELIST)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no map named 'allow5'", r.stderr)
        self.assertIn("allow4", r.stderr)
        self.assertIn("allow6", r.stderr)

    def test_value_that_does_not_parse_names_the_expected_type(self):
        r = self.run_alf("--set", "allow4,0,10.0.0.300/8", WHITELIST)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("struct alf_ipv4_subnet", r.stderr)
        self.assertIn("10.0.0.300", r.stderr)
        r = self.run_alf("--set", "allow4,first,10.0.0.0/8", WHITELIST)
        self.assertIn("__u32", r.stderr)
        r = self.run_alf("--set", "allow4,uint16_t:0,10.0.0.0/8", WHITELIST)
        self.assertIn("uint16_t", r.stderr)

    def test_port_in_use(self):
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::", int(self.port)))
            s.listen()
            r = self.run_alf(source_path("filters", "whitelist-private.c"))
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("already in use", r.stderr)
        self.assertIn(self.port, r.stderr)

    def test_missing_filter_file(self):
        r = self.run_alf(os.path.join(self.dir, "nonexistent.c"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("nonexistent.c: no such file", r.stderr)

    def test_program_not_found_exits_127(self):
        r = Run(["--port", self.port, source_path("filters", "whitelist-private.c"), "no-such-program-xyz"])
        self.assertEqual(r.returncode, 127, r)
        self.assertIn("no-such-program-xyz: command not found", r.stderr)

    def test_program_not_executable_exits_126(self):
        path = self.write("script.sh", "touch started\n")
        r = Run(["--port", self.port, source_path("filters", "whitelist-private.c"), path])
        self.assertEqual(r.returncode, 126, r)
        self.assertIn("cannot execute", r.stderr)

    def test_usage_errors(self):
        for args, needle in ((["--port", "70000"], "out of range"),
                             (["--address", "nowhere"], "not a numeric"),
                             (["--type", "SOCK_RAW"], "SOCK_STREAM or SOCK_DGRAM"),
                             (["--bogus"], "unknown option"),
                             (["--set", "allow4"], "expected MAP,KEY,VALUE")):
            with self.subTest(args=args):
                r = self.run_alf(*args, WHITELIST)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn(needle, r.stderr)

    def test_rules_map_entries_and_config(self):
        typed = self.write("typed.c", """
            #include <alfwrapper/filter.h>
            enum color { RED = 1, GREEN = 2 };
            struct inner { __u8 a; __be16 port; };
            struct key { __u32 id; struct inner in; char name[8]; };
            struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct key); __type(value, enum color);
                     __uint(max_entries, 2); } m1 SEC(".maps");
            SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
            """)
        networks = self.write("networks.txt", "allow 10.0.0.0/8\npermit 10.1.0.0/16\n")
        many = self.write("many.txt", '{"id": 1} RED\n{"id": 2} RED\n{"id": 3} GREEN\n')
        unknown = self.write("unknown.json", '{"alow": ["10.0.0.0/8"]}')
        shape = self.write("shape.json", '{"allow": {"cidr": ["10.0.0.0/8"]}}')
        cases = (
            (["--allow", "10.0.0.0/33"], "prefix length 33 exceeds 32"),
            (["--deny", "2001:db8::/129"], "prefix length 129 exceeds 128"),
            (["--allow", "10.0.0.0/8x"], "prefix length '8x' is not a number"),
            (["--allow", "10.0.0.300"], "'10.0.0.300' is not an IP address"),
            (["--rules-file", networks], networks + ":2: 'permit 10.1.0.0/16' is not a rule"),
            (["--rules-file", os.path.join(self.dir, "missing.txt")], "missing.txt: no such file"),
            (["--config", unknown], unknown + ": /alow: unknown key 'alow'"),
            (["--config", shape], "/allow/cidr: expected a string or an integer"),
            (["-f", typed, "--set", 'm1,{"in":{"a":256}},RED'], "m1.key.in.a: '256' is out of range for __u8"),
            (["-f", typed, "--set", 'm1,{"id":1},PURPLE'], "'PURPLE' is not an enumerator of enum color"),
            (["-f", typed, "--set", 'm1,{"id":1}'], "map m1 needs a VALUE of type enum color"),
            (["-f", typed, "--set-file", "m1=" + many], "raise its size with --map-size m1=3"),
            (["-f", typed, "--map-size", "m1=0"], "a map holds at least 1 entry"),
            (["-f", "subnets"], "filter subnets needs rules"),
        )
        for args, needle in cases:
            with self.subTest(args=args):
                r = self.run_alf(*args)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn(needle, r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, "one message, one line")

    def test_host_bits_set_warn_and_the_service_starts(self):
        r = Run(["--port", self.port, "--allow", "127.0.0.1/24", "--dry-run", "--", "true"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("warning: --allow 127.0.0.1/24: host bits set; using 127.0.0.0/24", r.stderr)


if __name__ == "__main__":
    unittest.main()
