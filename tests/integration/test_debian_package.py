"""The Debian package as an administrator gets it: built by dpkg-buildpackage
from this build tree, checked by lintian, installed with apt-get, used (the
demo's service against the installed binaries and filter library, alfctl, the
editor set-up, man pages, completion), and purged, leaving nothing behind."""

import glob
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import AlfTestCase, Peer, Run, Service, require, sh, source_path

BUILD_DIR = os.environ.get("ALF_BUILD_DIR", source_path("build"))
BIN = "/usr/bin"
DATA = "/usr/share/alfwrapper"
EXAMPLES = "/usr/share/doc/alfwrapper/examples"
INSTALLED_SIZE_GOAL_KIB = 70 * 1024
# What is packaged: the product build (for a sanitizer build, the one beside it).
PRODUCT_DIR = os.environ.get("ALF_PRODUCT_BUILD_DIR", BUILD_DIR)
DPKG_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=120"]  # another apt or dpkg may be at work on the machine


def dpkg_state():
    """Every package on the machine with its version and state."""
    return set(sh("dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n").stdout.splitlines())


def package_installed(name):
    r = sh("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", name, check=False)
    return r.returncode == 0 and r.stdout.startswith("ii")


def clangd_errors(path):
    """The errors clangd --check reports on a file, with the flags it finds
    beside it (compile_flags.txt)."""
    clangd = shutil.which("clangd-14") or shutil.which("clangd")
    r = subprocess.run([clangd, f"--check={path}"], capture_output=True, text=True, timeout=120,
                       cwd=os.path.dirname(path))
    summary = re.search(r"All checks completed, (\d+) errors", r.stderr)
    if not summary:
        raise AssertionError(f"clangd --check={path} did not finish:\n{r.stderr[-2000:]}")
    return int(summary.group(1)), [line for line in r.stderr.splitlines() if line.startswith("E[")]


def build_package(directory):
    """The package of the product build tree (debian/rules' ALF_BUILD_TREE), built
    in `directory`: the source tree is not touched."""
    tree = os.path.join(directory, "alfwrapper")
    shutil.copytree(source_path("debian"), os.path.join(tree, "debian"))
    env = dict(os.environ, ALF_BUILD_TREE=os.path.abspath(PRODUCT_DIR), DEB_BUILD_OPTIONS="noautodbgsym nocheck")
    r = subprocess.run(["dpkg-buildpackage", "-b", "-uc", "-us"], cwd=tree, env=env, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError(f"dpkg-buildpackage failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    (deb,) = glob.glob(os.path.join(directory, "alfwrapper_*.deb"))
    return deb


class DebianPackage(AlfTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_root()
        harness.require(os.path.isfile(os.path.join(PRODUCT_DIR, "alfwrapper")),
                        f"packaging needs the product build in {PRODUCT_DIR} (scripts/build)")
        for tool in ("dpkg-buildpackage", "dh", "lintian", "apt-get", "man"):
            require(shutil.which(tool), f"needs {tool} (scripts/setup installs it)")
        require(shutil.which("clangd-14") or shutil.which("clangd"), "needs clangd (scripts/setup installs it)")
        require(not package_installed("alfwrapper") and not os.path.lexists(f"{BIN}/alfwrapper"),
                "alfwrapper is installed on this machine: the test would replace it")
        cls.package_dir = tempfile.mkdtemp(prefix="alf-package-")
        try:
            cls.deb = build_package(cls.package_dir)
        except BaseException:
            shutil.rmtree(cls.package_dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.package_dir, ignore_errors=True)

    def install(self):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *DPKG_LOCK_WAIT, self.deb],
                           env=env, capture_output=True, text=True, timeout=300)
        self.addCleanup(sh, "apt-get", "purge", "-y", *DPKG_LOCK_WAIT, "alfwrapper", check=False)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])

    def test_lintian_is_clean(self):
        # Each override in debian/alfwrapper.lintian-overrides says why.
        r = subprocess.run(["lintian", "--fail-on", "error,warning", self.deb], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_names_the_sources_it_carries(self):
        # Static archives are linked in (alfctl wholly static): Built-Using
        # names their sources, as Debian's policy asks.
        built_using = sh("dpkg-deb", "-f", self.deb, "Built-Using").stdout
        for source in ("glibc", "libbpf", "elfutils", "zlib", "llvm-toolchain-14", "gcc-12"):
            self.assertRegex(built_using, rf"(^|, ){source} \(= [^)]+\)", built_using)

    def test_install_use_and_purge(self):
        before = dpkg_state()
        contents = [line.split()[-1].lstrip(".") for line in sh("dpkg", "-c", self.deb).stdout.splitlines()]
        contents = [path.rstrip("/") or "/" for path in contents if not path.startswith("->")]
        existed = {path for path in contents if os.path.lexists(path)}
        self.install()

        size = int(sh("dpkg-query", "-W", "-f", "${Installed-Size}", "alfwrapper").stdout)
        print(f"installed size: {size} KiB")
        self.assertLessEqual(size, INSTALLED_SIZE_GOAL_KIB)
        self.assertFalse(os.path.islink(f"{BIN}/alfctl"))

        self.check_demo()
        self.check_alfctl()
        self.check_editor_setup()
        self.check_man_pages()
        self.check_completion()

        sh("apt-get", "purge", "-y", *DPKG_LOCK_WAIT, "alfwrapper")
        self.assertFalse(package_installed("alfwrapper"))
        self.assertEqual(dpkg_state(), before, "the packages on the machine are as they were")
        left = [path for path in contents if path not in existed and os.path.lexists(path)]
        self.assertEqual(left, [], "purged, the package leaves nothing behind")

    def check_demo(self):
        """The demo's service, the installed binaries and filter: 127.0.0.1
        served, 127.0.0.2 refused; then the installed demo script itself."""
        port = harness.free_port()
        service = Service(["--port", str(port), "--set", "allow4,0,127.0.0.1/32", f"{DATA}/filters/whitelist.c",
                           f"{EXAMPLES}/echod.sh"], probe=None, binary=f"{BIN}/alfwrapper", cwd="/")
        self.addCleanup(service.__exit__)
        admitted = Peer("127.0.0.1", port)
        service.wait_served(admitted)
        self.assert_dropped(admitted, Peer("127.0.0.1", port, src="127.0.0.2"))
        service.stop()

        env = {name: value for name, value in os.environ.items() if name != "ALFWRAPPER"}
        r = subprocess.run([f"{EXAMPLES}/demo.sh"], capture_output=True, text=True, timeout=60, cwd="/",
                           env=dict(env, PATH=f"{BIN}:/usr/sbin:/sbin:/bin"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"$ alfwrapper --port 4242 --set allow4,0,127.0.0.1/32 {DATA}/filters/whitelist.c", r.stdout)
        self.assertIn("client 127.0.0.1: echo: hello from 127.0.0.1", r.stdout)
        self.assertIn("client 127.0.0.2: refused", r.stdout)

    def check_alfctl(self):
        alfctl = f"{BIN}/alfctl"
        self.assertEqual(Run(["--version"], binary=alfctl).stdout.split()[1],
                         Run(["--version"], binary=f"{BIN}/alfwrapper").stdout.split()[1])
        listed = re.findall(r"^  (\S+) ", Run(["filters"], binary=alfctl).stdout, re.M)
        sources = sorted(os.path.basename(p)[:-2] for p in glob.glob(f"{DATA}/filters/*.c"))
        self.assertEqual(sorted(listed), sources, "every built-in filter is installed as a source, and only those")
        r = Run(["test", "-f", "private", "--expect", "drop", "tcp 192.0.2.7:40000 > [::]:4242"], binary=alfctl)
        self.assertEqual(r.returncode, 0, r)
        r = Run(["test", f"{DATA}/filters/private.c", "--expect", "pass", "tcp 10.1.2.3:40000 > [::]:4242"],
                binary=alfctl)
        self.assertEqual(r.returncode, 0, r)

    def check_editor_setup(self):
        """alfctl headers: clangd checks each library filter with no error, and
        does report the errors alfwrapper's compiler would."""
        edit = self.path("edit")
        os.makedirs(edit)
        for source in glob.glob(f"{DATA}/filters/*.c"):
            shutil.copy(source, edit)
        broken = self.write("edit/broken.c", """
            #include <alfwrapper/filter.h>
            SEC("socket") int filter(struct __sk_buff *skb) { return undeclared_helper(skb); }
            """)
        r = Run(["headers", edit], binary=f"{BIN}/alfctl")
        self.assertEqual((r.returncode, r.stdout), (0, f"{DATA}/include\n"), r)
        self.assertIn(f"-I{DATA}/include", open(os.path.join(edit, "compile_flags.txt")).read().split())
        for source in sorted(glob.glob(f"{edit}/*.c")):
            if source == broken:
                continue
            count, errors = clangd_errors(source)
            self.assertEqual(count, 0, f"{source}: {errors}")
        count, errors = clangd_errors(broken)
        self.assertGreater(count, 0, "a call to an undeclared function is an error, as in alfwrapper's compiler")
        # Without the flags clangd knows no <alfwrapper/filter.h>: the flags are what makes it work.
        bare = self.path("bare")
        os.makedirs(bare)
        shutil.copy(f"{DATA}/filters/private.c", bare)
        self.assertGreater(clangd_errors(os.path.join(bare, "private.c"))[0], 0)

    def check_man_pages(self):
        env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
        pages = {}
        for section, page in (("1", "alfwrapper"), ("1", "alfctl"), ("7", "alfwrapper-filter")):
            r = subprocess.run(["man", "-P", "cat", section, page], capture_output=True, text=True, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            pages[page] = r.stdout
        help_text = Run(["--help"], binary=f"{BIN}/alfwrapper").stdout
        for option in sorted(set(re.findall(r"^  (?:-\w, )?(--[\w-]+)", help_text, re.M))):
            self.assertIn(option, pages["alfwrapper"], "alfwrapper(1) describes every option of --help")
        verbs = re.findall(r"^  (\w+) ", Run(["--help"], binary=f"{BIN}/alfctl").stdout.split("Verbs:")[1], re.M)
        self.assertGreaterEqual(len(verbs), 5)
        for verb in verbs:
            self.assertIn(verb, pages["alfctl"], "alfctl(1) describes every verb")
        for topic in ("struct alf_packet", "WHAT A REFUSED CLIENT SEES", "ALF_MAP_RESIZABLE", "alf_rules_decide",
                      "bpf_map_lookup_elem", "optmem_max"):
            self.assertIn(topic, pages["alfwrapper-filter"])

    def check_completion(self):
        script = """
            source /usr/share/bash-completion/completions/alfctl
            complete_line() {
                COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
                "$(complete -p "$1" | awk '{print $3}')" "$1"
                echo "${COMPREPLY[*]}"
            }
            complete_line alfwrapper --list-f
            complete_line alfwrapper -f whitel
            complete_line alfctl ""
            complete_line alfctl check -f knocking --set ""
            complete_line alfwrapper --allow 10.0.0.0/8 --map-size alf_rules
            """
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "--list-filters",
            "whitelist-private whitelist",
            "compile check test list rules stats log map filters headers help --help --version",
            "config, knocks,",
            "alf_rules4= alf_rules6= alf_rules_state=",
        ])


if __name__ == "__main__":
    import unittest
    unittest.main()
