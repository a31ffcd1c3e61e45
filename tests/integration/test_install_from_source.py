"""cmake --install --strip, as from the README: the layout of the installed
tree, the executables stripped with their debug info apart (found by build
id), alfctl running every verb, and the headers found beside wherever they
are installed."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Run, require, source_path

BUILD_DIR = os.environ.get("ALF_BUILD_DIR", source_path("build"))
# What is installed: the product build (for a sanitizer build, the one beside it).
PRODUCT_DIR = os.environ.get("ALF_PRODUCT_BUILD_DIR", BUILD_DIR)
INSTALLED_SIZE_GOAL = 70 * 1024 * 1024


def sections(path):
    out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True, check=True).stdout
    return {line.split("]", 1)[1].split()[0] for line in out.splitlines() if line.strip().startswith("[") and "]" in line
            and line.split("]", 1)[1].split()}


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    return out.split("Build ID:")[1].split()[0]


class InstallFromSource(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.isfile(os.path.join(PRODUCT_DIR, "alfwrapper")),
                f"installing needs the product build in {PRODUCT_DIR} (scripts/build)")
        cls.prefix = tempfile.mkdtemp(prefix="alf-install-")
        subprocess.run(["cmake", "--install", PRODUCT_DIR, "--prefix", cls.prefix, "--strip"], check=True,
                       capture_output=True, timeout=300)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def installed(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_layout(self):
        for path in ("bin/alfwrapper", "share/alfwrapper/filters/private.c", "share/alfwrapper/filters/README.md",
                     "share/alfwrapper/include/alfwrapper/filter.h", "share/alfwrapper/include/bpf/bpf_helpers.h",
                     "share/man/man1/alfwrapper.1", "share/man/man1/alfctl.1", "share/man/man7/alfwrapper-filter.7",
                     "share/bash-completion/completions/alfwrapper", "share/doc/alfwrapper/examples/demo.sh",
                     "share/doc/alfwrapper/examples/systemd/alf-echo.service"):
            self.assertTrue(os.path.isfile(self.installed(path)), path)
        self.assertTrue(os.path.isfile(self.installed("bin/alfctl")) and not os.path.islink(self.installed("bin/alfctl")))
        self.assertEqual(os.readlink(self.installed("share/bash-completion/completions/alfctl")), "alfwrapper")
        self.assertEqual(sorted(os.listdir(self.installed("share/alfwrapper/include"))),
                         sorted(os.listdir(source_path("runtime-headers"))))

    def test_stripped_with_debug_info_apart(self):
        for program in ("alfwrapper", "alfctl"):
            executable = self.installed("bin", program)
            identity = build_id(executable)
            debug = self.installed("lib/debug/.build-id", identity[:2], identity[2:] + ".debug")
            self.assertTrue(os.path.isfile(debug), debug)
            self.assertNotIn(".debug_info", sections(executable))
            self.assertIn(".gnu_debuglink", sections(executable))
            self.assertIn(".debug_info", sections(debug))
            self.assertEqual(build_id(debug), identity)
        size = sum(os.path.getsize(os.path.join(d, f)) for top in ("bin", "share")
                   for d, _, files in os.walk(self.installed(top)) for f in files
                   if not os.path.islink(os.path.join(d, f)))
        print(f"installed size without the debug info: {size / 2**20:.1f} MiB")
        self.assertLessEqual(size, INSTALLED_SIZE_GOAL)

    def test_alfctl_runs_every_verb(self):
        # Its own (the verbs on running services: a usage error here) and alfwrapper's.
        self.assertTrue(Run(["--version"], binary=self.installed("bin/alfctl")).stdout.startswith("alfctl "))
        self.assertTrue(Run(["--version"], binary=self.installed("bin/alfwrapper")).stdout.startswith("alfwrapper "))
        r = Run(["filters"], binary=self.installed("bin/alfctl"))
        self.assertIn("  private ", r.stdout)
        r = Run(["rules"], binary=self.installed("bin/alfctl"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no service named", r.stderr)

    def test_headers_are_found_beside_the_installed_executable(self):
        with tempfile.TemporaryDirectory() as edit:
            r = Run(["headers", edit], binary=self.installed("bin/alfctl"))
            self.assertEqual((r.returncode, r.stdout), (0, self.installed("share/alfwrapper/include") + "\n"), r)
            self.assertNotIn("warning", r.stderr)
            # An editor's own file is not overwritten.
            with open(os.path.join(edit, "compile_flags.txt"), "w") as f:
                f.write("-std=c99\n")
            r = Run(["headers", edit], binary=self.installed("bin/alfctl"))
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("compile_flags.txt exists with other flags", r.stderr)

    def test_the_build_tree_has_no_installed_headers(self):
        with tempfile.TemporaryDirectory() as edit:
            r = Run(["headers", edit], binary=os.path.join(BUILD_DIR, "alfctl"))
            self.assertEqual(r.returncode, 2, r)
            self.assertIn("is not installed", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(edit, "compile_flags.txt")))


if __name__ == "__main__":
    unittest.main()
