"""Diagnostics point at the line: compiler errors and verifier rejections name
the file and line the user has to change, in alfwrapper and in alfctl check."""

import os
import re
import unittest

from harness import AlfTestCase, Run, alfctl, free_port

SYNTAX_ERROR = """\
#include <alfwrapper/filter.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	return ALF_PASS +;
}
"""

UNDECLARED = """\
#include <alfwrapper/filter.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	return len > limit ? ALF_PASS : ALF_DROP;
}
"""

OUT_OF_BOUNDS = """\
#include <alfwrapper/filter.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32[4]);
	__uint(max_entries, 1);
} counters SEC(".maps");

SEC("socket")
int filter(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u32 *slots = bpf_map_lookup_elem(&counters, &key);

	if (!slots)
		return ALF_DROP;
	slots[skb->len & 7] += 1; /* 8 slots' worth of index, 4 slots */
	return ALF_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""

TOO_LARGE = """\
#include <alfwrapper/filter.h>

SEC("socket")
int filter(struct __sk_buff *skb)
{
	__u32 sum = 0, i;

#pragma clang loop unroll(disable)
	for (i = 0; i < 400000; i++) sum += skb->len ^ i;
	return sum & 1 ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
"""

STACK_TOO_BIG = """\
#include <alfwrapper/filter.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	volatile char buf[600];

	buf[0] = 1;
	return buf[skb->len & 511];
}
"""


class Diagnostics(AlfTestCase):
    def alfwrapper_fails(self, path, *extra):
        r = Run(["--no-cache", "--port", str(free_port())] + list(extra) + [path, "--", "touch", self.marker])
        self.assertNotEqual(r.returncode, 0, r)
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        return r

    def check_fails(self, path, *extra):
        r = alfctl("check", "--no-cache", *extra, path)
        self.assertNotEqual(r.returncode, 0, r)
        return r

    def assert_points_at(self, stderr, path, line, words):
        self.assertRegex(stderr, re.escape(f"{path}:{line}:") + r"(\d+:)? error: ", stderr)
        for w in words:
            self.assertIn(w, stderr)

    def test_syntax_error(self):
        path = self.write("syntax.c", SYNTAX_ERROR)
        for r in (self.alfwrapper_fails(path), self.check_fails(path)):
            self.assertEqual(r.returncode, 1, r)
            self.assert_points_at(r.stderr, path, 5, ["expected expression", "return ALF_PASS +;"])
            self.assertRegex(r.stderr, r"\n\s+\^")

    def test_undeclared_identifier(self):
        path = self.write("undeclared.c", UNDECLARED)
        for r in (self.alfwrapper_fails(path), self.check_fails(path)):
            self.assertEqual(r.returncode, 1, r)
            self.assert_points_at(r.stderr, path, 7, ["use of undeclared identifier 'limit'"])

    def test_undeclared_function(self):
        # C allows calling an undeclared function; a filter cannot (there is
        # nothing to link it to), so it is an error at the call.
        path = self.write("undeclared_function.c", UNDECLARED.replace("limit", "limit_for(skb)"))
        r = self.alfwrapper_fails(path)
        self.assertEqual(r.returncode, 1, r)
        self.assert_points_at(r.stderr, path, 7, ["implicit declaration of function 'limit_for'"])

    def test_verifier_rejects_out_of_bounds_map_value_access(self):
        path = self.write("oob.c", OUT_OF_BOUNDS)
        for r in (self.alfwrapper_fails(path), self.check_fails(path)):
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("verifier rejected program 'filter'", r.stderr)
            self.assert_points_at(r.stderr, path, 18, ["invalid access to map value", "slots[skb->len & 7] += 1;"])
            self.assertIn("--verbose", r.stderr)

    def test_verbose_shows_the_whole_verifier_log(self):
        path = self.write("oob.c", OUT_OF_BOUNDS)
        quiet = self.alfwrapper_fails(path)
        loud = self.alfwrapper_fails(path, "-v")
        self.assertNotIn("0: (bf) r", quiet.stderr)
        self.assertIn("0: (bf) r", loud.stderr, "the log's first instruction")
        self.assertIn("processed", loud.stderr)

    def test_program_too_large_names_the_limit_and_the_line(self):
        path = self.write("large.c", TOO_LARGE)
        r = self.alfwrapper_fails(path)
        self.assertEqual(r.returncode, 1, r)
        self.assert_points_at(r.stderr, path, 9, ["BPF program is too large"])
        self.assertIn("too complex: the verifier examines at most 1000000 instructions", r.stderr)

    def test_stack_limit_from_the_compiler_points_at_the_line(self):
        path = self.write("stack.c", STACK_TOO_BIG)
        for r in (self.alfwrapper_fails(path), self.check_fails(path)):
            self.assertEqual(r.returncode, 1, r)
            self.assert_points_at(r.stderr, path, 7, ["BPF stack limit of 512 bytes"])
            self.assertEqual(r.stderr.count("BPF stack limit"), 1, "reported once, not per instruction")

    def test_diagnostics_in_a_header_name_the_header(self):
        header = self.write("include/slots.h", """\
            static __always_inline void bump(__u32 *slots, __u32 i)
            {
            	slots[i & 7] += 1;
            }
            """)
        include = os.path.dirname(header)
        path = self.write("uses_header.c", OUT_OF_BOUNDS.replace(
            "#include <alfwrapper/filter.h>", "#include <alfwrapper/filter.h>\n#include \"slots.h\"").replace(
            "slots[skb->len & 7] += 1; /* 8 slots' worth of index, 4 slots */", "bump(slots, skb->len);"))
        r = self.alfwrapper_fails(path, "-I", include)
        self.assert_points_at(r.stderr, header, 3, ["invalid access to map value"])


if __name__ == "__main__":
    unittest.main()
