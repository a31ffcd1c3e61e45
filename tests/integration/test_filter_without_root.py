"""Filtering a service without being root. As nobody with no capability at
all, --allow/--deny rules compile to classic BPF and guard a UDP socket; a TCP
socket is refused with the kernel's restriction and the ways out. Through a
copy of alfwrapper carrying cap_bpf (setcap), nobody puts the built-in filters
in front of a TCP service, never a filter of its own, and the program runs
without any capability; with CAP_BPF of its own (ambient, as a unit gives
it) its own filter loads too. The kernel runs the classic program as the
rules say."""

import errno
import ipaddress
import json
import os
import pwd
import shutil
import socket
import unittest

import harness
from harness import ALFWRAPPER, PROBE, AlfTestCase, Run, alfctl, free_port, require, source_path

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
NO_CAPABILITIES = "0000000000000000"


def unprivileged_bpf_disabled():
    with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
        return int(f.read())


class Copies:
    """alfwrapper and the probe copied into the test's directory, which
    nobody can reach (mode 0755 down from /), alfwrapper's copy carrying
    `capabilities` (setcap) when given; a directory nobody may write into for
    the runs' markers."""

    def __init__(self, test, capabilities=None):
        self.dir = test.dir
        test.reachable_by_everyone()
        self.alfwrapper = os.path.join(self.dir, "alfwrapper")
        self.probe = os.path.join(self.dir, "probe")
        for source, copy in ((ALFWRAPPER, self.alfwrapper), (PROBE, self.probe)):
            shutil.copy(source, copy)
            os.chmod(copy, 0o755)
        if capabilities:
            require(not os.statvfs(self.dir).f_flag & os.ST_NOSUID,
                    f"{self.dir} is on a nosuid file system, which ignores file capabilities (set TMPDIR)")
            harness.sh("setcap", capabilities, self.alfwrapper)
        self.shared = os.path.join(self.dir, "shared")
        os.mkdir(self.shared)
        os.chmod(self.shared, 0o1777)


class AsNobody(AlfTestCase):
    capabilities = None
    ambient = []  # setpriv options giving the caller capabilities of its own

    def setUp(self):
        super().setUp()
        self.copies = Copies(self, self.capabilities)
        self.marker = os.path.join(self.copies.shared, "started")

    def start(self, args):
        """`alfwrapper ARGS -- probe --serve` as nobody; returns the service and the probe's report."""
        service = self.serve(args, probe=self.copies.probe, prefix=AS_NOBODY + self.ambient,
                             binary=self.copies.alfwrapper, shared_dir=True)
        return service, service.report()

    def refused(self, args, status):
        """alfwrapper as nobody must fail with one line and never start the program."""
        r = Run(list(args) + ["--", "touch", self.marker], prefix=AS_NOBODY, binary=self.copies.alfwrapper, cwd="/")
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertEqual(r.returncode, status, r)
        self.assertTrue(r.stderr.startswith("alfwrapper: ") and r.stderr.count("\n") == 1, r)
        return r.stderr

    def assert_runs_without_privileges(self, report):
        status = report["status"]
        self.assertEqual(status["Uid"].split(), [str(pwd.getpwnam("nobody").pw_uid)] * 4)
        for field in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            self.assertEqual(status[field], NO_CAPABILITIES, field)


class WithoutAnyCapability(AsNobody):
    def setUp(self):
        super().setUp()
        require(unprivileged_bpf_disabled() != 0,
                "kernel.unprivileged_bpf_disabled is 0: unprivileged users may load eBPF here")

    def test_rules_guard_a_udp_socket(self):
        port = free_port(socket.SOCK_DGRAM)
        service, report = self.start(["-v", "--allow", "127.0.0.1", "--allow", "::1", "-l", f"udp:[::]:{port}"])
        self.assert_runs_without_privileges(report)
        self.assertIn("back end: classic BPF: loading eBPF needs CAP_BPF", service.stderr())
        sock = report["fds"]["3"]["socket"]
        self.assertGreater(sock["get_filter_len"], 0, "a classic program can be read back")
        self.assertEqual(sock["lock_filter"], 1)
        self.assertEqual(report["detach_errno"], errno.EPERM)
        # The admitted datagram after the refused ones is answered only once
        # the program has read everything before it.
        self.assert_sources(port, ["127.0.0.1", "::1"], ["127.0.0.2", "127.0.0.3"], udp=True)
        sources = [line.split()[1].rsplit(":", 1)[0] for line in service.peers()]
        self.assertEqual(sources, ["[::ffff:127.0.0.1]", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]"],
                         "datagrams from 127.0.0.2 and 127.0.0.3 never reach the program")

    def test_a_tcp_socket_is_refused_with_the_restriction_and_the_ways_out(self):
        port = free_port()
        message = self.refused(["--allow", "127.0.0.1", "--allow", "::1", "-l", f"tcp:[::]:{port}"], 2)
        for part in (f"tcp [::]:{port}: cannot attach the classic BPF filter", "CAP_NET_ADMIN", "5d39580f68e6",
                     f"kernel.unprivileged_bpf_disabled is {unprivileged_bpf_disabled()}",
                     f"setcap cap_bpf+ep {self.copies.alfwrapper}", "AmbientCapabilities=CAP_BPF",
                     "use a datagram socket"):
            self.assertIn(part, message)

    def test_an_ebpf_filter_is_refused_with_the_sysctl_and_the_ways_out(self):
        port = free_port(socket.SOCK_DGRAM)
        message = self.refused([source_path("filters", "whitelist.c"), "-l", f"udp:127.0.0.1:{port}"], 2)
        for part in ("loading eBPF needs CAP_BPF", f"kernel.unprivileged_bpf_disabled is {unprivileged_bpf_disabled()}",
                     "AmbientCapabilities=CAP_BPF", "rules alone"):
            self.assertIn(part, message)
        message = self.refused(["-f", "private", "-l", f"udp:127.0.0.1:{port}"], 2)
        self.assertIn(f"setcap cap_bpf+ep {self.copies.alfwrapper}", message)
        message = self.refused(["--ebpf", "--allow", "127.0.0.1", "-l", f"udp:127.0.0.1:{port}"], 2)
        self.assertIn("loading eBPF needs CAP_BPF", message)

    def test_rules_past_the_classic_limit_are_refused(self):
        rules = os.path.join(self.copies.shared, "rules.txt")
        with open(rules, "w") as f:
            for i in range(3000):
                f.write(f"allow 10.{i // 256}.{i % 256}.0/25\n")
        os.chmod(rules, 0o644)
        message = self.refused(["--rules-file", rules, "-l", f"udp:127.0.0.1:{free_port(socket.SOCK_DGRAM)}"], 1)
        self.assertIn("rules: 3000 IPv4 and 0 IPv6 rules need more than", message)
        self.assertIn("the kernel allows 4096", message)


class WithCapBpfFromTheFile(AsNobody):
    capabilities = "cap_bpf+ep"

    def test_rules_on_tcp_admit_and_refuse_and_the_program_has_no_capabilities(self):
        port = free_port()
        service, report = self.start(["-v", "--allow", "127.0.0.1", "--allow", "::1", "-l", f"tcp:[::]:{port}"])
        self.assertIn("back end: eBPF (CAP_BPF from alfwrapper's file capability", service.stderr())
        self.assert_runs_without_privileges(report)
        self.assertEqual(report["status"]["NoNewPrivs"], "1")
        self.assertEqual(report["fds"]["3"]["socket"]["get_filter_errno"], errno.EACCES, "an eBPF filter is attached")
        self.assert_sources(port, ["127.0.0.1", "::1"], ["127.0.0.2"])

    def test_classic_rules_on_tcp_run_as_their_ebpf_translation(self):
        # A TCP socket takes a classic filter only from CAP_NET_ADMIN; with
        # CAP_BPF the classic program goes on translated to eBPF, which the
        # verifier needs to guard nowhere.
        port = free_port()
        service, report = self.start(["-v", "--classic", "--allow", "127.0.0.1", "--allow", "::1",
                                      "-l", f"tcp:[::]:{port}"])
        self.assertIn("back end: classic BPF (--classic)", service.stderr())
        self.assertIn("classic BPF program loaded as its eBPF translation", service.stderr())
        self.assert_runs_without_privileges(report)
        sock = report["fds"]["3"]["socket"]
        self.assertEqual(sock["get_filter_errno"], errno.EACCES, "an eBPF program is attached, not a classic one")
        self.assertEqual(sock["lock_filter"], 1)
        self.assert_sources(port, ["127.0.0.1", "::1"], ["127.0.0.2"])

    def test_a_library_filter_on_tcp(self):
        port = free_port()
        _, report = self.start(["-f", "whitelist", "--set", "allow4,0,127.0.0.1/32", "--set", "allow6,0,::1/128",
                                "-l", f"tcp:[::]:{port}"])
        self.assert_runs_without_privileges(report)
        self.assert_sources(port, ["127.0.0.1", "::1"], ["127.0.0.2"])

    def test_every_built_in_filter_loads(self):
        port = free_port()
        for name in ("private", "whitelist-private", "whitelist", "interfaces", "ports", "ratelimit", "knocking"):
            r = Run(["-f", name, "-l", f"tcp:127.0.0.1:{port}", "--dry-run", "--", "true"], prefix=AS_NOBODY,
                    binary=self.copies.alfwrapper, cwd="/")
            self.assertEqual(r.returncode, 0, f"{name}: {r}")

    def test_the_filter_is_told_that_its_stack_stores_are_guarded(self):
        # Without CAP_PERFMON the verifier guards each store to a fresh stack
        # slot against speculative store bypass; the loader tells the filter
        # (alf_stack_stores_guarded), whose headers then zero their locals by
        # a helper call instead. As root, they are not guarded.
        delegated, as_root = free_port(), free_port()
        self.start(["--name", f"guarded-{delegated}", "-f", "whitelist", "-l", f"tcp:[::]:{delegated}"])
        self.serve(["--name", f"root-{as_root}", "-f", "whitelist", "--port", str(as_root)])
        for name, guarded in ((f"guarded-{delegated}", 1), (f"root-{as_root}", 0)):
            maps = json.loads(alfctl("map", name, "--json").stdout)["maps"]
            (constants,) = [m["name"] for m in maps if m["name"].endswith(".rodata")]
            value = json.loads(alfctl("map", name, constants, "--json").stdout)["entries"][0]["value"]
            self.assertEqual(value["alf_stack_stores_guarded"], guarded, name)

    def test_filters_given_by_the_caller_are_refused(self):
        port = free_port()
        listen = ["-l", f"tcp:127.0.0.1:{port}"]
        message = self.refused([source_path("filters", "whitelist.c")] + listen, 1)
        self.assertIn("refused: this alfwrapper holds CAP_BPF from its file capability", message)
        self.assertIn("never a C source or object given to it", message)
        self.assertIn("AmbientCapabilities=CAP_BPF", message)
        self.assertIn("never a C source or object", self.refused(["-f", "/tmp/filter.o"] + listen, 1))
        self.assertIn("-D: refused", self.refused(["-D", "X=1", "-f", "private"] + listen, 1))
        self.assertIn("-I: refused", self.refused(["-I", "/tmp", "-f", "private"] + listen, 1))
        self.assertIn("cannot change users", self.refused(["-u", "root", "-f", "private"] + listen, 1))


    def test_map_memory_is_bounded(self):
        listen = ["-l", f"tcp:127.0.0.1:{free_port()}"]
        message = self.refused(["-f", "ratelimit", "--map-size", "buckets=20000000"] + listen, 1)
        self.assertIn("map buckets (20000000 entries) would take about", message)
        self.assertIn("more than the 64 MiB a map may take", message)
        self.assertIn("/etc/alfwrapper/limits.json", message)
        # What a map of a sane size takes is allowed.
        r = Run(["-f", "ratelimit", "--map-size", "buckets=100000", "--dry-run"] + listen + ["--", "true"],
                prefix=AS_NOBODY, binary=self.copies.alfwrapper, cwd="/")
        self.assertEqual(r.returncode, 0, r)

    def test_alfctl_through_the_capable_file_has_only_the_callers_privileges(self):
        # alfctl is the same executable under another name; the file's
        # capability is for alfwrapper, which checks what it loads with it.
        alfctl = os.path.join(self.dir, "alfctl")
        os.symlink("alfwrapper", alfctl)
        r = Run(["check", "-f", "private"], binary=alfctl, prefix=AS_NOBODY, cwd="/")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("loading eBPF needs CAP_BPF, which alfctl (uid", r.stderr)
        port = free_port()
        r = Run(["-f", "private", "-l", f"tcp:127.0.0.1:{port}", "--dry-run", "--", "true"], prefix=AS_NOBODY,
                binary=self.copies.alfwrapper, cwd="/")
        self.assertEqual(r.returncode, 0, r)


class WithAmbientCapBpf(AsNobody):
    """As a unit with User= and AmbientCapabilities=CAP_BPF runs it: the
    capability is the caller's own, so the caller's C filter loads too."""
    ambient = ["--inh-caps=+bpf", "--ambient-caps=+bpf"]

    def test_the_callers_own_filter_loads_and_the_program_has_no_capabilities(self):
        source = os.path.join(self.copies.dir, "whitelist.c")
        shutil.copy(source_path("filters", "whitelist.c"), source)
        os.chmod(source, 0o644)
        port = free_port()
        service, report = self.start(["-v", "-f", source, "--set", "allow4,0,127.0.0.1/32", "-l", f"tcp:[::]:{port}"])
        self.assertIn("back end: eBPF (CAP_BPF held)", service.stderr())
        self.assert_runs_without_privileges(report)
        self.assertEqual(report["status"]["NoNewPrivs"], "1")
        self.assert_sources(port, ["127.0.0.1"], ["127.0.0.2"])


class KernelRunsTheClassicProgram(AlfTestCase):
    """Real datagrams from many sources, IPv4 and IPv6, to a dual-stack UDP
    socket carrying the classic program (--classic, as root in a namespace of
    the test's own): exactly the sources the rules admit get through."""

    RULES = [("allow", "127.0.0.0/24"), ("deny", "127.0.0.8/29"), ("allow", "127.0.0.12"), ("deny", "127.0.0.13"),
             ("allow", "127.0.0.13"), ("deny", "::ffff:127.0.0.20/127"), ("allow", "2001:db8::/32"),
             ("deny", "2001:db8:1::/48"), ("allow", "2001:db8:1::5"), ("deny", "fd00::/8")]
    SOURCES = ([f"127.0.0.{i}" for i in range(1, 25)] + ["127.0.1.1", "127.255.0.1"] +
               ["2001:db8::1", "2001:db8:1::1", "2001:db8:1::5", "2001:db8:1::6", "2001:db8:2::1", "fd00::1",
                "fd01::1", "2001:db9::1", "::1"])

    @staticmethod
    def reference(source):
        address = ipaddress.ip_address(source)
        best, verdict = -1, None
        for word, cidr in KernelRunsTheClassicProgram.RULES:
            network = ipaddress.ip_network(cidr)
            if network.version == 6 and network.prefixlen >= 96 and network.network_address.ipv4_mapped:
                network = ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{network.prefixlen - 96}")
            if network.version != address.version or address not in network:
                continue
            if network.prefixlen > best:
                best, verdict = network.prefixlen, word
            elif network.prefixlen == best and word == "deny":
                verdict = "deny"
        if verdict is None:
            verdict = "deny" if any(word == "allow" for word, _ in KernelRunsTheClassicProgram.RULES) else "allow"
        return verdict == "allow"

    def test_sources_admitted_exactly_as_the_rules_say(self):
        port = free_port(socket.SOCK_DGRAM)
        extra = [s for s in self.SOURCES if ":" in s and s != "::1"]
        with harness.LoopbackNetns(extra) as ns:
            args = ["-v", "--classic", "-l", f"udp:[::]:{port}"]
            for word, cidr in self.RULES:
                args += [f"--{word}", cidr]
            service = self.serve(args, netns=ns.name)
            self.assertIn("back end: classic BPF (--classic)", service.stderr())
            expected = {s: self.reference(s) for s in self.SOURCES}
            self.assertTrue(any(expected.values()) and not all(expected.values()))
            self.assert_sources(port, [s for s in self.SOURCES if expected[s]],
                                [s for s in self.SOURCES if not expected[s]], netns=ns.name, udp=True)
            arrived = {line.split()[1].rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")
                       for line in service.peers()}
            self.assertEqual(arrived, {s for s in self.SOURCES if expected[s]})

if __name__ == "__main__":
    unittest.main()
