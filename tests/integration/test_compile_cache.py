"""The compile cache: a second launch skips the compiler, and anything that
changes the object (source, an included header, a define) compiles again;
damaged entries and untrustworthy cache directories are never used."""

import json
import os
import shutil
import stat
import subprocess
import unittest

import harness
from harness import AlfTestCase, Run, alfctl, free_port, require

FILTER = """\
#include <alfwrapper/filter.h>
#include "verdict.h"

SEC("socket") int filter(struct __sk_buff *skb)
{
#ifdef FORCE_DROP
	return ALF_DROP;
#else
	return VERDICT;
#endif
}
"""

PACKET = "tcp 192.0.2.7:40000 > [::]:4242 syn"
HIT = "compile cache: hit"
COMPILED = "compiled "


class CompileCache(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.cache = self.path("cache")
        self.include = self.path("include")
        self.source = self.write("filter.c", FILTER)
        self.header = self.write("include/verdict.h", "#define VERDICT ALF_PASS\n")

    def launch(self, *extra, cache_args=None):
        """alfwrapper -v, started up to the exec of `true`."""
        args = cache_args if cache_args is not None else ["--cache-dir", self.cache]
        r = Run(["-v", "--port", str(free_port())] + args + ["-I", self.include] + list(extra) + [self.source, "true"])
        self.assertEqual(r.returncode, 0, r)
        return r

    def verdict(self, *extra):
        """The filter's verdict on one packet (alfctl test, the same cache)."""
        r = alfctl("test", "-v", "--json", "--cache-dir", self.cache, *extra, "-I", self.include, self.source, PACKET)
        self.assertEqual(r.returncode, 0, r)
        return json.loads(r.stdout)["results"][0]["verdict"], r.stderr

    def entries(self):
        return [n for n in os.listdir(self.cache) if not n.startswith(".")] if os.path.isdir(self.cache) else []

    def test_second_launch_skips_the_compiler(self):
        first = self.launch()
        self.assertIn(COMPILED, first.stderr)
        self.assertNotIn(HIT, first.stderr)
        second = self.launch()
        self.assertIn(HIT, second.stderr)
        self.assertNotIn(COMPILED, second.stderr)
        # alfctl shares the cache: check and test run what alfwrapper would.
        verdict, stderr = self.verdict()
        self.assertEqual(verdict, "pass")
        self.assertIn(HIT, stderr)
        self.assertEqual(len(self.entries()), 1)

    def test_cache_directory_is_private_and_entries_are_files_of_ours(self):
        self.launch()
        self.assertEqual(stat.S_IMODE(os.stat(self.cache).st_mode), 0o700)
        for entry in self.entries():
            st = os.stat(os.path.join(self.cache, entry))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            self.assertEqual(st.st_uid, os.geteuid())

    def test_editing_the_source_compiles_again(self):
        self.assertEqual(self.verdict()[0], "pass")
        self.write("filter.c", FILTER.replace("return VERDICT;", "return VERDICT == ALF_PASS ? ALF_DROP : ALF_PASS;"))
        verdict, stderr = self.verdict()
        self.assertIn(COMPILED, stderr)
        self.assertEqual(verdict, "drop", "the edited filter runs, not the cached one")

    def test_editing_an_included_header_compiles_again(self):
        self.assertEqual(self.verdict()[0], "pass")
        self.write("include/verdict.h", "#define VERDICT ALF_DROP\n")
        verdict, stderr = self.verdict()
        self.assertIn("verdict.h changed", stderr)
        self.assertIn(COMPILED, stderr)
        self.assertEqual(verdict, "drop")

    def test_a_header_appearing_earlier_in_the_search_path_compiles_again(self):
        earlier = self.path("earlier")
        os.mkdir(earlier)
        self.assertEqual(self.verdict("-I", earlier)[0], "pass")
        self.write("earlier/verdict.h", "#define VERDICT ALF_DROP\n")
        verdict, stderr = self.verdict("-I", earlier)
        self.assertIn("exists now", stderr)
        self.assertEqual(verdict, "drop")

    def test_changing_a_define_compiles_again(self):
        self.assertEqual(self.verdict()[0], "pass")
        verdict, stderr = self.verdict("-D", "FORCE_DROP")
        self.assertIn(COMPILED, stderr)
        self.assertEqual(verdict, "drop")
        verdict, stderr = self.verdict()
        self.assertIn(HIT, stderr, "the entry without the define is still there")
        self.assertEqual(verdict, "pass")

    def test_a_damaged_entry_is_compiled_again(self):
        self.launch()
        [entry] = self.entries()
        path = os.path.join(self.cache, entry)
        with open(path, "rb") as f:
            intact = f.read()
        for damaged in (intact[:-7], intact[:len(intact) // 2], intact[:-1] + bytes([intact[-1] ^ 0xff]), b"",
                        intact.replace(b'"optimization"', b'"optimisation"')):
            with open(path, "wb") as f:
                f.write(damaged)
            r = self.launch()
            self.assertIn("is corrupt", r.stderr)
            self.assertIn(COMPILED, r.stderr)
            self.assertNotIn(HIT, r.stderr)
            self.assertIn(HIT, self.launch().stderr, "the entry was written again, whole")

    def test_a_cache_directory_writable_by_others_is_not_used(self):
        os.mkdir(self.cache, 0o700)
        os.chmod(self.cache, 0o777)
        for _ in range(2):
            r = self.launch()
            self.assertIn("warning: compile cache " + self.cache + " is writable by others (mode 0777)", r.stderr)
            self.assertIn(COMPILED, r.stderr)
        self.assertEqual(self.entries(), [])

    def test_a_cache_directory_of_another_user_is_not_used(self):
        os.mkdir(self.cache, 0o700)
        os.chown(self.cache, 65534, 65534)
        for _ in range(2):
            r = self.launch()
            self.assertIn("belongs to another user (uid 65534)", r.stderr)
            self.assertIn(COMPILED, r.stderr)
        self.assertEqual(self.entries(), [])

    def test_no_cache_compiles_and_stores_nothing(self):
        for _ in range(2):
            r = self.launch("--no-cache")
            self.assertIn(COMPILED, r.stderr)
        self.assertFalse(os.path.exists(self.cache) and self.entries())

    def test_a_privileged_alfwrapper_does_not_use_the_cache(self):
        # A user's cache would let them swap the object a privileged
        # alfwrapper (file capabilities) loads. Such an alfwrapper loads only
        # its built-in filters: it refuses the source before any cache lookup,
        # and leaves the user's cache untouched.
        binary = self.path("alfwrapper")
        shutil.copy(harness.ALFWRAPPER, binary)
        setcap = subprocess.run(["setcap", "cap_bpf+ep", binary], capture_output=True, text=True)
        require(setcap.returncode == 0, f"file capabilities are not supported here: setcap: {setcap.stderr.strip()}")
        self.reachable_by_everyone()
        cache = self.path("users-cache")
        os.mkdir(cache, 0o700)
        os.chown(cache, 65534, 65534)
        for _ in range(2):
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "-v",
                                "--cache-dir", cache, "--list-maps", self.source],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("only the filters built into it", r.stderr)
            self.assertNotIn("compile cache: hit", r.stderr)
            self.assertNotIn(COMPILED, r.stderr)
        self.assertEqual(os.listdir(cache), [])

    def test_default_location_follows_xdg_and_home(self):
        xdg = self.path("xdg")
        env = dict(os.environ, XDG_CACHE_HOME=xdg)
        r = Run(["-v", "--port", str(free_port()), "-I", self.include, self.source, "true"], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(os.path.join(xdg, "alfwrapper"), r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(xdg, "alfwrapper")).st_mode), 0o700)

        home = self.path("home")
        os.mkdir(home)
        env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
        env["HOME"] = home
        r = Run(["-v", "--port", str(free_port()), "-I", self.include, self.source, "true"], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(os.path.isdir(os.path.join(home, ".cache", "alfwrapper")), r)

    def test_a_units_cache_directory_comes_first(self):
        # CacheDirectory=alf-web makes systemd set CACHE_DIRECTORY=/var/cache/alf-web.
        unit_cache = self.path("unit-cache")
        os.mkdir(unit_cache, 0o700)
        env = dict(os.environ, CACHE_DIRECTORY=unit_cache + ":" + self.path("second"), XDG_CACHE_HOME=self.path("x"))
        r = Run(["-v", "--port", str(free_port()), "-I", self.include, self.source, "true"], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(f"compile cache: stored {unit_cache}/", r.stderr)
        self.assertNotIn("warning", r.stderr)


if __name__ == "__main__":
    unittest.main()
