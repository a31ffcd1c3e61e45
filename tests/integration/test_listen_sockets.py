"""Listening on several sockets at once (--listen): TCP, UDP and Unix, IPv4,
IPv6 and dual-stack, with names, each carrying the locked filter."""

import errno
import os
import socket
import stat
import subprocess
import unittest

import harness
from harness import REFUSED, AlfTestCase, Peer, Run, free_port, source_path

# Admits 127.0.0.1 and ::1 only; 127.0.0.2 stands for a refused peer.
WHITELIST = ["--set", "allow4,0,127.0.0.1/32", "--set", "allow6,0,::1/128", source_path("filters", "whitelist.c")]
# On a Unix socket there is no IP header to judge; the length is.
LONG_ONLY = """
    #include <alfwrapper/filter.h>
    SEC("socket") int filter(struct __sk_buff *skb) { return skb->len >= 8 ? ALF_PASS : ALF_DROP; }
    char LICENSE[] SEC("license") = "GPL";
    """


def unix_echo(path, payload=b"ping\n", timeout=harness.CONNECT_TIMEOUT):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(payload)
        return s.recv(65536)


def unix_datagram(path, payload):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(payload, path)


class ListenSockets(AlfTestCase):
    def start(self, args, **kw):
        service = self.serve(args, **kw)
        return service, service.report()

    def assert_filtered_and_locked(self, sock):
        # An eBPF program cannot be read back: EACCES proves one is attached
        # (a socket without a filter answers with length 0).
        self.assertEqual(sock["get_filter_errno"], errno.EACCES, sock)
        self.assertEqual(sock["lock_filter"], 1, sock)

    def test_two_tcp_one_udp_one_unix_socket_each_filtered(self):
        web, admin, dns = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
        ctl = self.path("ctl.sock")
        service, report = self.start(["-l", f"tcp:{web},name=web", "-l", f"tcp4:{admin},name=admin",
                                      "-l", f"udp:{dns},name=dns", "-l", f"unix:{ctl},name=ctl"] + WHITELIST)
        self.assertEqual(report["env"]["LISTEN_FDS"], "4")
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "web:admin:dns:ctl")
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3", "4", "5", "6"])
        fds = {fd: report["fds"][fd]["socket"] for fd in ("3", "4", "5", "6")}
        self.assertEqual((fds["3"]["domain"], fds["3"]["type"], fds["3"]["local"]),
                         (socket.AF_INET6, socket.SOCK_STREAM, f"[::]:{web}"))
        self.assertEqual((fds["4"]["domain"], fds["4"]["type"], fds["4"]["local"]),
                         (socket.AF_INET, socket.SOCK_STREAM, f"0.0.0.0:{admin}"))
        self.assertEqual((fds["5"]["domain"], fds["5"]["type"], fds["5"]["local"]),
                         (socket.AF_INET6, socket.SOCK_DGRAM, f"[::]:{dns}"))
        self.assertEqual((fds["6"]["domain"], fds["6"]["type"], fds["6"]["local"]),
                         (socket.AF_UNIX, socket.SOCK_STREAM, ctl))
        for sock in fds.values():
            self.assert_filtered_and_locked(sock)

        for port in (web, admin):
            self.assert_dropped(Peer("127.0.0.1", port), Peer("127.0.0.1", port, src="127.0.0.2"))
        self.assert_served(Peer("::1", web))

        # The admitted datagram after the refused one is answered only once the
        # program has read everything before it: a refused datagram that got
        # through would be in the program's log.
        self.assert_dropped(Peer("127.0.0.1", dns, src="127.0.0.1", udp=True),
                            Peer("127.0.0.1", dns, src="127.0.0.2", udp=True))
        self.assert_served(Peer("::1", dns, src="::1", udp=True))
        udp_sources = [line.split()[1].rsplit(":", 1)[0] for line in service.peers() if line.startswith("udp ")]
        self.assertEqual(udp_sources, ["[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]", "[::1]"], service.peers())
        self.assertFalse(any("127.0.0.2" in line for line in service.peers()), service.peers())

        self.assertEqual(unix_echo(ctl), b"ping\n")

    def test_unix_datagrams_are_filtered(self):
        # The kernel runs a socket filter on every Unix datagram sent to the
        # socket: the short one is dropped before the long one is queued.
        long_only = self.write("long_only.c", LONG_ONLY)
        path = self.path("log.sock")
        service, report = self.start(["-l", f"unixdgram:{path},name=log", long_only])
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "log")
        self.assertEqual(report["fds"]["3"]["socket"]["type"], socket.SOCK_DGRAM)
        self.assert_filtered_and_locked(report["fds"]["3"]["socket"])
        unix_datagram(path, b"short")
        unix_datagram(path, b"long enough")
        harness.wait_until(lambda: service.peers(), what="the admitted datagram")
        self.assertEqual([line.split(" ", 2)[-1] for line in service.peers()], ["long enough"])

    def test_ipv4_only_ipv6_only_and_dual_stack(self):
        v4, v6, dual, v6flag = free_port(), free_port(), free_port(), free_port()
        _, report = self.start(["-l", f"tcp4:{v4}", "-l", f"tcp6:{v6}", "-l", f"tcp:{dual}",
                                "-l", f"tcp:[::]:{v6flag},v6only"] + WHITELIST)
        socks = [report["fds"][fd]["socket"] for fd in ("3", "4", "5", "6")]
        self.assertEqual(socks[0]["domain"], socket.AF_INET)
        self.assertEqual([s.get("v6only") for s in socks[1:]], [True, False, True])
        # Where no socket listens, the kernel answers the SYN with a reset: no filter involved.
        self.assert_served(Peer("127.0.0.1", v4))
        self.assert_outcome(Peer("::1", v4), REFUSED, "an IPv4 socket")
        for port in (v6, v6flag):
            self.assert_served(Peer("::1", port))
            self.assert_outcome(Peer("127.0.0.1", port), REFUSED, "an IPv6-only socket")
        self.assert_served(Peer("::1", dual))
        self.assert_dropped(Peer("127.0.0.1", dual), Peer("127.0.0.1", dual, src="127.0.0.2"))

    def test_socket_options(self):
        scoped, free, device = free_port(), free_port(socket.SOCK_DGRAM), free_port()
        _, report = self.start(["-l", f"tcp:[::1%lo]:{scoped},backlog=7,reuseport",
                                "-l", f"udp4:198.51.100.7:{free},freebind",  # not configured here: freebind binds anyway
                                "-l", f"tcp4:127.0.0.1:{device},bindtodevice=lo"] + WHITELIST)
        socks = [report["fds"][fd]["socket"] for fd in ("3", "4", "5")]
        self.assertEqual(socks[0]["local"], f"[::1]:{scoped}")  # the kernel keeps a scope for link-local addresses only
        self.assertEqual((socks[0]["reuseport"], socks[0]["freebind"]), (True, False))
        self.assertEqual((socks[1]["local"], socks[1]["freebind"]), (f"198.51.100.7:{free}", True))
        self.assertEqual((socks[2]["device"], socks[2]["reuseport"]), ("lo", False))
        # A listening socket's Send-Q in ss is its backlog.
        ss = subprocess.run(["ss", "-Hltn", f"sport = :{scoped}"], capture_output=True, text=True).stdout.split()
        self.assertEqual(ss[2], "7", ss)
        self.assert_served(Peer("::1", scoped), Peer("127.0.0.1", device))

    def test_names_in_listen_fdnames(self):
        seed, first, second = free_port(), free_port(socket.SOCK_DGRAM), free_port()
        _, report = self.start(["--port", str(seed), "--fdname", "seed:first", "-l", f"udp4:127.0.0.1:{first}",
                                "-l", f"tcp:[::1]:{second},name=second"] + WHITELIST)
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "seed:first:second")
        self.assertEqual(report["fds"]["3"]["socket"]["local"], f"[::]:{seed}")
        self.assertEqual(report["fds"]["4"]["socket"]["local"], f"127.0.0.1:{first}")
        self.assertEqual(report["fds"]["5"]["socket"]["local"], f"[::1]:{second}")
        # Without names, each socket is named after its kind.
        _, report = self.start(["-l", f"tcp:{free_port()}", "-l", f"udp:{free_port(socket.SOCK_DGRAM)}",
                                "-l", "unix:@alf-test-" + os.path.basename(self.dir)] + WHITELIST)
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "tcp:udp:unix")

    def test_stale_unix_socket_file_is_replaced_and_mode_applies(self):
        path = self.path("app.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
            old.bind(path)  # closed without unlink: a stale socket file
        old_umask = os.umask(0)  # mode= must hold whatever the umask
        try:
            service, report = self.start(["-l", f"unix:{path},mode=0660"] + WHITELIST)
        finally:
            os.umask(old_umask)
        self.assertEqual(report["fds"]["3"]["socket"]["local"], path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
        self.assertEqual(unix_echo(path), b"ping\n")
        # The filter is attached but never runs on Unix stream connections: the user is told.
        self.assertIn("the kernel runs no socket filter on Unix stream connections", service.stderr())


class HostNames(AlfTestCase):
    """Host names resolve through the user database of a private mount
    namespace whose /etc/hosts the test writes (the machine's stays untouched)."""

    def setUp(self):
        super().setUp()
        hosts = self.write("hosts", "127.0.0.1 alf-one.test\n127.0.0.1 alf-two.test\n::1 alf-two.test\n")
        self.prefix = ["unshare", "--mount", "sh", "-c", 'mount --bind "$1" /etc/hosts && shift && exec "$@"', "sh", hosts]

    def test_a_name_with_one_address_is_listened_on(self):
        port = free_port()
        service = self.serve(["-l", f"tcp:alf-one.test:{port}"] + WHITELIST, prefix=self.prefix)
        self.assertEqual(service.report()["fds"]["3"]["socket"]["local"], f"127.0.0.1:{port}")
        self.assert_served(Peer("127.0.0.1", port))

    def test_a_name_with_several_addresses_is_an_error_listing_them(self):
        marker = self.marker
        r = Run(["-l", f"tcp:alf-two.test:{free_port()}"] + WHITELIST + ["--", "touch", marker], prefix=self.prefix)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("alf-two.test' resolves to 2 addresses (", r.stderr)
        self.assertIn("-l tcp:127.0.0.1:", r.stderr)
        self.assertIn("-l tcp:[::1]:", r.stderr)
        self.assertFalse(os.path.exists(marker))
        # Choosing the family picks one.
        r = Run(["-l", f"tcp6:alf-two.test:{free_port()}", "--dry-run"] + WHITELIST + ["--", "true"], prefix=self.prefix)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("tcp [::1]:", r.stdout)


class BadSockets(AlfTestCase):
    def refused(self, *args, status=1):
        r = Run(list(args) + WHITELIST + ["--", "touch", self.marker])
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertEqual(r.returncode, status, r)
        self.assertTrue(r.stderr.startswith("alfwrapper: ") and r.stderr.count("\n") == 1, r)
        return r.stderr

    def test_malformed_listen_specs(self):
        for spec, needle in (("tcp:0", "port 0"), ("tcp:65536", "out of range"), ("tcp:[::1", "without ']'"),
                             ("sctp:80", "unknown protocol 'sctp'"), ("tcp:80,nodelay", "unknown option"),
                             ("tcp:", "address is missing")):
            with self.subTest(spec=spec):
                self.assertIn(needle, self.refused("-l", spec))

    def test_unix_path_whose_directory_does_not_exist(self):
        err = self.refused("-l", f"unix:{self.dir}/missing/app.sock", status=2)
        self.assertIn(f"the directory {self.dir}/missing does not exist", err)

    def test_unix_path_that_is_not_a_socket_or_is_in_use(self):
        path = os.path.join(self.dir, "file")
        open(path, "w").close()
        self.assertIn("exists and is not a socket", self.refused("-l", f"unix:{path}"))
        live = os.path.join(self.dir, "live.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.bind(live)
            s.listen()
            self.assertIn("a process is listening on", self.refused("-l", f"unix:{live}", status=2))
        self.assertTrue(os.path.exists(path))

    def test_unknown_interface(self):
        self.assertIn("no network interface named 'alfnosuch0'",
                      self.refused("-l", f"tcp:{free_port()},bindtodevice=alfnosuch0"))
        self.assertIn("no network interface named 'alfnosuch1'",
                      self.refused("-l", f"tcp:[fe80::1%alfnosuch1]:{free_port()}"))

    def test_more_names_than_sockets(self):
        self.assertIn("--fdname gives 2 names", self.refused("-l", f"tcp:{free_port()}", "--fdname", "a:b"))


if __name__ == "__main__":
    unittest.main()
