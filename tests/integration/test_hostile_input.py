"""Hostile input: whatever the input, one bounded message, a non-zero exit,
no crash, no hang, and the program never starts."""

import os
import signal
import subprocess
import time

from harness import ALFCTL, ALFWRAPPER, AlfTestCase, Run, free_port, source_path

WHITELIST = source_path("filters", "whitelist.c")
# A hang is a failure: every run here must end well before this.
RUN_TIMEOUT = 20


class HostileInput(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.port = str(free_port())

    def refused(self, *args, status=1, env=None, prefix=()):
        """Runs alfwrapper with ARGS; it must fail with `status` and one
        bounded message, never crash or start the program."""
        seed = [] if "-l" in args else ["--port", self.port]
        r = Run(seed + list(args) + ["--", "touch", self.marker], env=env, prefix=prefix, timeout=RUN_TIMEOUT)
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertEqual(r.returncode, status, r)
        self.assertLess(len(r.stderr), 4000, "the message must not echo the input whole")
        self.assertNotIn("internal error", r.stderr, r)
        return r

    def fifo(self, name):
        path = self.path(name)
        os.mkfifo(path)
        return path

    def test_deeply_nested_json_is_refused_not_a_stack_overflow(self):
        deep = self.write("deep.json", "[" * 200000 + "]" * 200000)
        r = self.refused("--set-file", f"allow4={deep}", WHITELIST)
        self.assertIn("JSON nested deeper than 64 levels", r.stderr)
        config = self.write("deep-config.json", '{"maps": {"allow4": ' + "[" * 200000 + "]" * 200000 + "}}")
        r = self.refused("--config", config, WHITELIST)
        self.assertIn(f"config {config}: JSON nested deeper than 64 levels", r.stderr)
        r = self.refused("--set", "config,0," + "[" * 100000, "-f", "ratelimit")
        self.assertIn("is not valid JSON", r.stderr)

    def test_numbers_out_of_range_name_the_file(self):
        config = self.write("big.json", '{"port": 1e400}')
        r = self.refused("--config", config, WHITELIST)
        self.assertIn(f"config {config}: not valid JSON: number overflow", r.stderr)

    def test_fifos_and_devices_are_refused_not_waited_on(self):
        fifo = self.fifo("input.fifo")
        for args, says in [
            (["--config", fifo, WHITELIST], f"config {fifo}: not a regular file"),
            (["--config", "/dev/zero", WHITELIST], "config /dev/zero: not a regular file"),
            (["--set-file", f"allow4={fifo}", WHITELIST], f"{fifo}: not a regular file"),
        ]:
            with self.subTest(args=args):
                self.assertIn(says, self.refused(*args).stderr)
        filter_fifo = self.fifo("filter.c")
        self.assertIn("not a regular file", self.refused(filter_fifo).stderr)

    def test_an_included_fifo_is_a_compile_error_at_the_include(self):
        self.fifo("fifo.h")
        source = self.write("includes.c", """
            #include "fifo.h"
            #include <alfwrapper/filter.h>
            SEC("socket") int filter(struct __sk_buff *skb) { return ALF_PASS; }
            """)
        r = self.refused("--no-cache", source)
        self.assertIn("fifo.h is not a regular file", r.stderr)
        self.assertIn("In file included from " + self.path("includes.c") + ":1", r.stderr)

    def test_long_option_values_are_plain_values(self):
        huge = "a" * 60000
        r = self.refused(f"--fdname={huge}", WHITELIST)
        self.assertIn("--fdname", r.stderr)
        self.assertIn("(60000 bytes)", r.stderr)  # quoted in part, its length said
        r = self.refused(f"--frobnicate={huge}", WHITELIST)
        self.assertIn("unknown option '--frobnicate", r.stderr)

    def test_options_the_gnu_way(self):
        r = Run(["-vq", "--port", self.port, "--dry-run", "-f", "private", "--", "true"], timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        r = self.refused("--dry-run=yes", WHITELIST)
        self.assertIn("option '--dry-run' takes no value", r.stderr)
        r = Run(["check", "-f", "private", "--pcap", "x.pcap"], binary=ALFCTL, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("option '--pcap' does not apply here (see alfctl check --help)", r.stderr)

    def test_inline_asm_compiles_as_with_clang(self):
        source = self.write("asm.c", """
            #include <alfwrapper/filter.h>
            SEC("socket") int filter(struct __sk_buff *skb)
            {
                int verdict;
                asm volatile("%0 = 0" : "=r"(verdict));
                return verdict;
            }
            """)
        r = Run(["compile", "--no-cache", source, "-o", self.path("asm.o")], binary=ALFCTL, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        # Assembly the BPF assembler refuses is a compile error, not a crash.
        bad = self.write("bad-asm.c", """
            #include <alfwrapper/filter.h>
            SEC("socket") int filter(struct __sk_buff *skb) { asm volatile("no such instruction"); return 0; }
            """)
        r = self.refused("--no-cache", bad)
        self.assertIn("does not compile", r.stderr)

    def test_a_map_the_kernel_cannot_create_is_named(self):
        r = self.refused("--map-size", "allow4=2000000000", WHITELIST, status=2)
        self.assertIn("map allow4 (2000000000 entries", r.stderr)
        self.assertIn("--map-size allow4=N", r.stderr)
        self.assertNotIn("instructions", r.stderr)

    def test_compile_output_to_devices_and_stdout(self):
        r = Run(["compile", "-f", source_path("filters", "private.c"), "-o", "/dev/full"], binary=ALFCTL,
                timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("cannot write /dev/full", r.stderr)
        self.assertFalse(os.path.isfile("/dev/full"), "the device must stay a device")
        out = subprocess.run([ALFCTL, "compile", source_path("filters", "private.c"), "-o", "-"],
                             capture_output=True, timeout=RUN_TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith(b"\x7fELF"), "the object on stdout")

    def test_compile_bounds_end_a_compile_that_expands_without_end(self):
        bomb = self.write("bomb.c", "#include <alfwrapper/filter.h>\n#define A1 x+x+x+x+x+x+x+x\n" + "".join(
            f"#define A{i} " + "+".join([f"A{i - 1}"] * 8) + "\n" for i in range(2, 11)) +
            'SEC("socket") int filter(struct __sk_buff *skb) { int x = skb->len; return A10; }\n')
        for variable, value, says in [("ALF_COMPILE_TIMEOUT", "2", "compiling it took longer than 2 s"),
                                      ("ALF_COMPILE_MEMORY", "200", "compiling it needed more than 200 MiB")]:
            with self.subTest(bound=variable):
                r = self.refused("--no-cache", bomb, env=dict(os.environ, **{variable: value}))
                self.assertIn(says, r.stderr)
                self.assertIn("nothing was started", r.stderr)

    def test_a_compiler_killed_mid_compile_starts_nothing(self):
        """The compile runs in a process of its own (nobody's child): killed
        by a signal, alfwrapper says so, exits 2 and starts nothing."""
        bomb = self.write("killed.c", "#include <alfwrapper/filter.h>\n#define A1 x+x+x+x+x+x+x+x\n" + "".join(
            f"#define A{i} " + "+".join([f"A{i - 1}"] * 8) + "\n" for i in range(2, 11)) +
            'SEC("socket") int filter(struct __sk_buff *skb) { int x = skb->len; return A10; }\n')
        launcher = subprocess.Popen([ALFWRAPPER, "--no-cache", "--port", self.port, bomb, "--", "touch", self.marker],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        compilers = []
        deadline = time.monotonic() + RUN_TIMEOUT
        while not compilers and time.monotonic() < deadline:
            time.sleep(0.05)
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmdline = f.read()
                    with open(f"/proc/{pid}/stat") as f:
                        stat = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # Running (not the zombie of the process between), and not alfwrapper itself.
                if bomb.encode() in cmdline and int(pid) != launcher.pid and stat[0] != "Z":
                    compilers.append((int(pid), int(stat[1])))
        self.assertEqual(len(compilers), 1, "one compiler process, beside alfwrapper")
        compiler, parent = compilers[0]
        self.assertNotEqual(parent, launcher.pid, "the compiler is no child of alfwrapper")
        # It holds none of alfwrapper's descriptors (the service's socket,
        # the caller's output), only /dev/null and its pipe (and what the
        # compile itself opens).
        # (It lets them go right after it forks: looked at until then.)
        while time.monotonic() < deadline:
            held = {}
            for fd in os.listdir(f"/proc/{compiler}/fd"):
                try:
                    held[fd] = os.readlink(f"/proc/{compiler}/fd/{fd}")
                except OSError:
                    pass
            if held.get("0") == "/dev/null":
                break
            time.sleep(0.01)
        self.assertEqual([held.get(str(fd)) for fd in range(3)], ["/dev/null"] * 3, held)
        self.assertFalse([link for link in held.values() if link.startswith("socket:")], held)
        self.assertEqual(len([link for link in held.values() if link.startswith("pipe:")]), 1, held)
        os.kill(compiler, signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(launcher.returncode, 2, stderr)
        self.assertIn(f"filter {bomb}: the compiler's process ended without an answer (a crash, or killed by a "
                      "signal); nothing was started", stderr)
        self.assertFalse(os.path.exists(self.marker), "the program must not start")

    def test_a_cache_behind_another_users_link_is_not_used(self):
        shared = self.path("shared")
        os.mkdir(shared)
        only_root = self.path("only-root")
        os.mkdir(only_root, 0o700)
        link = os.path.join(shared, "alfwrapper")
        os.symlink(only_root, link)
        os.lchown(link, 65534, 65534)
        r = Run(["compile", "-v", source_path("filters", "private.c"), "-o", self.path("p.o")], binary=ALFCTL,
                env=dict(os.environ, XDG_CACHE_HOME=shared), timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(f"{link} is a symbolic link of another user; not using it", r.stderr)
        self.assertEqual(os.listdir(only_root), [], "nothing may be written where the link points")

    def test_a_failed_bind_removes_the_socket_files_made_before(self):
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            sock_path = self.path("app.sock")
            r = self.refused("-l", f"unix:{sock_path}", "-l", f"tcp4:127.0.0.1:{taken.getsockname()[1]}",
                             "-f", "private", status=2)
            self.assertIn("in use", r.stderr)
            self.assertFalse(os.path.exists(sock_path), "the socket file of a service that did not start")

    def test_socket_options_that_would_open_a_socket_nobody_asked_for(self):
        r = self.refused("-l", "udp:5353", "--type", "SOCK_DGRAM", "-f", "private")
        self.assertIn("--type and --address describe the socket of --port", r.stderr)
        r = self.refused("--program", "", "-f", "private")
        self.assertIn("--program: give the name", r.stderr)

    def test_slot_lists_without_gaps_and_keys_given_twice(self):
        r = self.refused("-f", "interfaces", "--set", "interfaces,1,lo")
        self.assertIn("slot 1 is set but slot 0 is empty", r.stderr)
        r = self.refused("-f", "interfaces", "--map-size", "interfaces=33")
        self.assertIn("its size is the filter's", r.stderr)
        r = Run(["--port", self.port, "-f", "interfaces", "--set", "interfaces,0,lo", "--set", "interfaces,0,lo",
                 "--dry-run", "--", "true"], timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("key 0 is given twice (--set interfaces,0,lo, then --set interfaces,0,lo)", r.stderr)

    def test_inputs_that_would_be_taken_for_something_else(self):
        for args, says in [
            (["--port", "0x10", "-f", "private"], "a port is written in decimal"),
            (["-l", "tcp:0x7530", "-f", "private"], "a port is written in decimal"),
            (["-f", "ports", "--set", 'rules,0,{"destination":{"first":9000,"last":10}}'],
             "first 9000 is after last 10: the range would match no port"),
            (["-f", "ports", "--set", 'rules,0,{"destination":{"last":10}}'], 'a port range needs "first"'),
        ]:
            with self.subTest(args=args):
                self.assertIn(says, self.refused(*args).stderr)
        r = Run(["--port", self.port, "--allow", "::ffff:10.0.0.0/95", "--dry-run", "--", "true"], timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("written as IPv4-mapped but is shorter than /96", r.stderr)
        # One port alone: "last" left out is "first".
        r = Run(["--port", self.port, "-f", "ports", "--set", 'rules,0,{"destination":{"first":9000}}', "--dry-run",
                 "--", "true"], timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r)

    def test_a_rules_file_that_is_no_rules_file(self):
        sparse = self.path("sparse.rules")
        with open(sparse, "wb") as f:
            f.truncate(100 << 30)  # 100 GiB of holes: zeros, no line end
        r = self.refused("--rules-file", sparse)
        self.assertIn("line 1 is longer than 65536 bytes: not a rules file", r.stderr)
        many = self.write("one.rules", "allow 10.0.0.0/8\n")
        r = self.refused(*[a for _ in range(300) for a in ("--rules-file", many)])
        self.assertIn("300 files given, at most 255", r.stderr)

    def test_bpf_blocked_by_seccomp_is_named_with_the_way_out(self):
        # Root, and so CAP_BPF, but bpf() answered with EPERM by a seccomp filter.
        r = self.refused("-f", "private", status=2, prefix=[os.environ["ALF_WITHOUT_BPF"]])
        self.assertIn("the bpf() system call is blocked by a seccomp filter", r.stderr)
        self.assertIn("--system-call-filter=bpf", r.stderr)
        self.assertIn("SystemCallFilter=bpf", r.stderr)
        self.assertNotIn("setcap", r.stderr)

    def test_a_newline_inside_an_argument_is_shown_escaped(self):
        for args in (["--port", "12\n34", "-f", "private"], ["-l", "tcp:80\nfoo", "-f", "private"],
                     ["--allow", "10.0.0.0/8\nx"]):
            with self.subTest(args=args):
                r = self.refused(*args)
                self.assertEqual(r.stderr.count("\n"), 1, f"one line: {r.stderr!r}")
                self.assertIn("\\n", r.stderr)
