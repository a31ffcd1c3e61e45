"""The filter library as a whole: every built-in filter loads through the
verifier, fits the socket option memory an accepted socket must be able to
inherit it in, and is listed in filters/README.md; the tour of the whole
filter API loads too."""

import glob
import json
import os
import re
import subprocess
import unittest

import harness
from harness import free_port, source_path

FILTER_FOOTPRINT = os.environ.get("ALF_FILTER_FOOTPRINT", "filter_footprint")
BUILTIN_OBJECTS = sorted(glob.glob(os.path.join(os.path.dirname(harness.ALFWRAPPER), "filters", "*.o")))


def builtin_names():
    return sorted(os.path.basename(p)[:-2] for p in glob.glob(source_path("filters", "*.c")))


class LibraryFootprint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_root()
        out = subprocess.run([FILTER_FOOTPRINT] + BUILTIN_OBJECTS, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise AssertionError(out.stderr)
        cls.rows = {row["filter"]: row for row in map(json.loads, out.stdout.splitlines())}

    def test_every_builtin_filter_loads_through_the_verifier(self):
        self.assertEqual(sorted(self.rows), builtin_names())
        for name, row in self.rows.items():
            with self.subTest(filter=name):
                self.assertGreater(row["kernel_instructions"], 0)
                self.assertGreater(row["verified_instructions"], 0)

    def test_charge_follows_the_kernels_rule(self):
        # bpf_prog_size(): a fixed header plus 8 bytes an instruction as the
        # kernel keeps it after the verifier; the header is the same for all.
        headers = {name: row["listener_charge"] - 8 * row["kernel_instructions"] for name, row in self.rows.items()}
        self.assertEqual(len(set(headers.values())), 1, headers)

    def test_accepted_sockets_inherit_the_same_charge_within_optmem_max(self):
        measured = [row for row in self.rows.values() if row["accepted_charge"] is not None]
        self.assertTrue(measured, "the filters that admit 127.0.0.1 with empty maps show the inherited charge")
        for row in measured:
            self.assertEqual(row["accepted_charge"], row["listener_charge"], row["filter"])
        for name, row in self.rows.items():
            with self.subTest(filter=name):
                self.assertLess(row["listener_charge"], row["optmem_max"], "an accepted socket could not inherit it")

    def test_readme_lists_every_builtin_filter_with_its_figures(self):
        with open(source_path("filters", "README.md")) as f:
            readme = f.read()
        for name in builtin_names():
            with self.subTest(filter=name):
                self.assertRegex(readme, r"\n\| `%s` \|" % re.escape(name), "a row in the library table")
                self.assertRegex(readme, r"\n\| %s \| \d+ \| \d+ \| \d+ \| \d+ B \|" % re.escape(name),
                                 "a row in the footprint table")


class ApiTour(harness.AlfTestCase):
    def test_the_tour_of_the_api_loads(self):
        r = harness.Run(["-v", "--dry-run", "--port", str(free_port()), source_path("tests", "filters", "api_tour.c"),
                         "true"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("loaded program 'filter'", r.stderr)
        self.assertNotIn("warning", r.stderr)
        # -v gives the kernel's count of the instructions its verifier
        # processed, and the load's time.
        loaded = re.search(r"loaded program 'filter' \((\d+) instructions, (\d+) processed by the verifier"
                           r"(, by libbpf: [^)]*)?\) in [0-9.]+ ms", r.stderr)
        self.assertIsNotNone(loaded, r.stderr)
        self.assertGreater(int(loaded.group(2)), 0)


class CompileOnTwoCpus(harness.AlfTestCase):
    """A filter's static functions (whitelist.c's bpf_loop callbacks) are
    compiled on the second CPU beside its program, which -v says; on one CPU
    the filter is compiled whole; it loads the same either way."""

    def launch(self, prefix=()):
        r = harness.Run(["-v", "--no-cache", "--dry-run", "--port", str(free_port()),
                         source_path("filters", "whitelist.c"), "true"], prefix=prefix)
        self.assertEqual(r.returncode, 0, r)
        loaded = re.search(r"loaded program 'filter' \((\d+) instructions, (\d+) processed", r.stderr)
        self.assertIsNotNone(loaded, r.stderr)
        return r.stderr, loaded.groups()

    def test_callbacks_compiled_on_the_second_cpu_load_as_compiled_whole(self):
        cpus = sorted(os.sched_getaffinity(0))
        harness.require(len(cpus) >= 2, "one CPU: no second one to compile on")
        split, split_counts = self.launch()
        whole, whole_counts = self.launch(prefix=["taskset", "-c", str(cpus[0])])
        self.assertIn("2 static functions compiled on the second CPU", split)
        self.assertNotIn("static function", whole)
        self.assertEqual(split_counts, whole_counts)


if __name__ == "__main__":
    unittest.main()
