"""Bad input: one clear message, a non-zero exit, and the program never starts."""

import os
import socket
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Run, free_port, source_path  # noqa: E402

WHITELIST = source_path("filters", "whitelist.c")


class BadInput(unittest.TestCase):
    def setUp(self):
        harness.require_root()
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.marker = os.path.join(self.dir.name, "started")
        self.port = str(free_port())

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip())
        return path

    def run_alf(self, *args):
        r = Run(["--port", self.port] + list(args) + ["--", "sh", "-c", f"touch {self.marker}"])
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
        r = self.run_alf(os.path.join(self.dir.name, "nonexistent.c"))
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


if __name__ == "__main__":
    unittest.main()
