"""A filter written in libbpf's style (<linux/bpf.h>, <bpf/bpf_helpers.h>,
<bpf/bpf_endian.h>, a BTF-defined hash map) compiles and works unchanged
without the system's headers: alfwrapper runs in a mount namespace of the
test's own in which /usr/include is a tmpfs holding nothing but the headers
the filter names, each stopping any compiler that reads it (#error). So the
filter can only have compiled against the embedded headers, whether or not
the machine has kernel or libbpf headers installed."""

import shutil
import subprocess
import unittest
import uuid

from harness import AlfTestCase, Peer, free_port, require, source_path

FILTER = source_path("tests", "filters", "libbpf_style.c")
POISONED = {
    "linux": ["bpf.h", "if_ether.h", "in.h", "ip.h", "types.h", "bpf_common.h"],
    "bpf": ["bpf_helpers.h", "bpf_endian.h", "bpf_helper_defs.h"],
    "x86_64-linux-gnu/asm": ["types.h", "byteorder.h"],
    "asm": ["types.h", "byteorder.h"],
}
HIDDEN = "alf-hidden-headers"

# Runs "$@" in a private mount namespace where /usr/include is a tmpfs
# holding only headers that fail to compile.
HIDE_AND_RUN = f"set -e\nmount -t tmpfs -o size=64k {HIDDEN} /usr/include\n" + "".join(
    f"mkdir -p /usr/include/{d}\n" +
    "".join(f"echo '#error \"read /usr/include/{d}/{h}: the system header, not the embedded one\"' "
            f"> /usr/include/{d}/{h}\n" for h in headers)
    for d, headers in POISONED.items()) + 'exec "$@"\n'


def hidden(*cmd):
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDE_AND_RUN, "sh", *cmd]


class LibbpfStyleFilter(AlfTestCase):
    def test_the_poison_stops_a_compiler_that_reads_system_headers(self):
        # Control: in the same namespace set-up, clang pointed at /usr/include fails.
        clang = shutil.which("clang-14") or shutil.which("clang")
        require(clang, "the control compile needs clang (Debian package clang)")
        r = subprocess.run(hidden(clang, "-target", "bpf", "-O2", "-I/usr/include", "-I/usr/include/x86_64-linux-gnu",
                                  "-fsyntax-only", FILTER), capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the system header, not the embedded one", r.stderr)

    def test_compiles_and_filters_without_system_headers(self):
        port = free_port()
        # A -D unique to this run: the object cannot come from any cache, it is compiled here.
        service = self.serve(["-v", "-D", "ALF_TEST_RUN_" + uuid.uuid4().hex, "--port", str(port),
                              "--set", "allowed,0x7f000002,0", FILTER], prefix=hidden())
        self.assertIn("compiled " + FILTER, service.stderr())
        self.assertNotIn("warning", service.stderr())
        # 127.0.0.2 is in the map; 127.0.0.3 is not, and this filter admits no IPv6.
        self.assert_dropped(Peer("127.0.0.1", port, src="127.0.0.2"), Peer("127.0.0.1", port, src="127.0.0.3"),
                            Peer("::1", port))

    def test_unhidden_headers_are_untouched(self):
        # The hiding stays inside the test's mount namespace.
        subprocess.run(hidden("true"), check=True)
        with open("/proc/self/mounts") as f:
            self.assertNotIn(HIDDEN, f.read())

if __name__ == "__main__":
    unittest.main()
