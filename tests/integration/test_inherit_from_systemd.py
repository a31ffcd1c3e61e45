"""Sockets alfwrapper is started with (--inherit): from systemd-socket-activate,
a real implementation of the sending side of the protocol, and from a shell
that hands over exactly the fds and variables a test needs."""

import errno
import fcntl
import os
import socket
import unittest

import harness
from harness import ECHO, RESET, AlfTestCase, Peer, Run, free_port, source_path

WHITELIST = ["--set", "allow4,0,127.0.0.1/32", "--set", "allow6,0,::1/128", source_path("filters", "whitelist.c")]
SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate"


def high_fd(fd):
    """A duplicate well above 3, so the shell can move it to 3 without clobbering."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 20)


def activation(fds, names=None, pid="$$", count=None):
    """A shell (bash: dash takes only one-digit fds) that puts `fds` at 3, 4, ... and sets the socket-activation
    variables for the process it then becomes (exec keeps the pid)."""
    moves = " ".join(f"{3 + i}<&{fd} {fd}<&-" for i, fd in enumerate(fds))
    env = f"LISTEN_FDS={len(fds) if count is None else count} LISTEN_PID={pid}"
    if names is not None:
        env += f" LISTEN_FDNAMES={names}"
    return ["bash", "-c", f'exec {moves}; export {env}; exec "$0" "$@"']


def wait_for_stderr(service, needle):
    harness.wait_until(lambda: needle in service.stderr(), what=f"{needle!r} in alfwrapper's messages")


class InheritFromSystemd(AlfTestCase):
    def setUp(self):
        super().setUp()
        if not os.access(SOCKET_ACTIVATE, os.X_OK):
            raise AssertionError(f"{SOCKET_ACTIVATE} is missing: scripts/setup installs the systemd package")

    def start(self, args, **kw):
        """alfwrapper started by the command `prefix` (not waiting for the probe: the command may hold it back)."""
        service = harness.Service(list(args), **kw)
        self.addCleanup(service.__exit__)
        return service

    def test_systemd_socket_activate_hands_over_a_socket_that_gets_filtered_and_named(self):
        port = free_port()
        service = self.start(["--inherit"] + WHITELIST,
                             prefix=[SOCKET_ACTIVATE, "-l", str(port), "--fdname=web"])
        service.wait_listening(f"*:{port}")
        # systemd-socket-activate starts its child on the first connection,
        # which therefore arrives before any filter: here from a refused peer.
        # It is judged once alfwrapper has compiled and attached the filter
        # (given that long): refused, it is destroyed, and its client reset.
        refused = Peer("127.0.0.1", port, src="127.0.0.2")
        self.assert_outcome(refused, RESET, "a refused connection that came before the filter", timeout=30)
        report = service.report()
        wait_for_stderr(service, "1 connection(s) queued before the filter: 0 admitted and left for the service, "
                                 "1 refused and destroyed")
        self.assertEqual(report["pid"], service.proc.pid)
        self.assertEqual(report["env"]["LISTEN_FDS"], "1")
        self.assertEqual(report["env"]["LISTEN_PID"], str(report["pid"]))
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "web")
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3"])
        sock = report["fds"]["3"]["socket"]
        self.assertEqual((sock["local"], sock["listening"], sock["v6only"]), (f"[::]:{port}", True, False))
        self.assertEqual(sock["get_filter_errno"], errno.EACCES)
        self.assertEqual(sock["lock_filter"], 1)
        self.assertEqual(report["detach_errno"], errno.EPERM)

        self.assert_served(Peer("::1", port))
        self.assert_dropped(Peer("127.0.0.1", port), refused)
        self.assertFalse(any("127.0.0.2" in line for line in service.peers()), service.peers())

    def test_inherited_sockets_come_first_then_those_of_listen(self):
        first, second = free_port(), free_port()
        dns, admin = free_port(socket.SOCK_DGRAM), free_port()
        service = self.start(["--inherit", "-l", f"udp:{dns},name=dns", "-l", f"tcp4:127.0.0.1:{admin}"] + WHITELIST,
                             prefix=[SOCKET_ACTIVATE, "-l", f"127.0.0.1:{first}", "-l", f"[::1]:{second}",
                                     "--fdname=a:b"])
        service.wait_listening(f"127.0.0.1:{first}")
        # The first connection starts alfwrapper. It came before the filter:
        # judged once the filter is attached, admitted, it is served.
        trigger = Peer("127.0.0.1", first).exchange(timeout=30)
        self.assertEqual(trigger.kind, ECHO, f"the connection that started the service: {trigger}")
        report = service.report()
        self.assertEqual(report["env"]["LISTEN_FDS"], "4")
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "a:b:dns:tcp")
        self.assertEqual([report["fds"][fd]["socket"]["local"] for fd in ("3", "4", "5", "6")],
                         [f"127.0.0.1:{first}", f"[::1]:{second}", f"[::]:{dns}", f"127.0.0.1:{admin}"])
        for fd in ("3", "4", "5", "6"):
            self.assertEqual(report["fds"][fd]["socket"]["get_filter_errno"], errno.EACCES, fd)
            self.assertEqual(report["fds"][fd]["socket"]["lock_filter"], 1, fd)
        self.assert_served(Peer("::1", second))
        self.assert_dropped(Peer("127.0.0.1", dns, src="127.0.0.1", udp=True),
                            Peer("127.0.0.1", dns, src="127.0.0.2", udp=True))
        self.assertFalse(any("127.0.0.2" in line for line in service.peers()), service.peers())


    def test_the_admitted_connection_that_starts_the_service_is_served(self):
        # On demand: the first connection wakes the service and waits in the
        # queue while alfwrapper compiles and attaches; admitted, it stays
        # there for the service, which serves it.
        port = free_port()
        service = self.start(["--inherit"] + WHITELIST, prefix=[SOCKET_ACTIVATE, "-l", str(port)])
        service.wait_listening(f"*:{port}")
        self.assert_outcome(Peer("127.0.0.1", port), ECHO, "the connection that started the service", timeout=30)
        service.report()
        self.assert_dropped(Peer("127.0.0.1", port), Peer("127.0.0.1", port, src="127.0.0.2"))


class InheritedFds(AlfTestCase):
    """The protocol driven by hand: the exact fds and variables of each case."""

    def listening(self, kind=socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            s.listen()
        return s, s.getsockname()[1]

    def owned_fd(self, fd):
        fd = high_fd(fd)
        self.addCleanup(os.close, fd)
        return fd

    def refused(self, prefix, fds, *args):
        r = Run(["--inherit"] + list(args) + WHITELIST + ["--", "touch", self.marker], prefix=prefix, pass_fds=fds)
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertEqual(r.returncode, 1, r)
        self.assertTrue(r.stderr.startswith("alfwrapper: --inherit") and r.stderr.count("\n") == 1, r)
        return r.stderr

    def test_environment_is_exact_and_nothing_of_the_activation_is_left(self):
        s, port = self.listening()
        fd = self.owned_fd(s.fileno())
        stray_r, stray_w = os.pipe()  # inherited without CLOEXEC: must not reach the program
        self.addCleanup(os.close, stray_r)
        self.addCleanup(os.close, stray_w)
        other = free_port()
        service = self.serve(["--inherit", "-l", f"tcp:[::1]:{other},name=extra"] + WHITELIST,
                             prefix=activation([fd], names="inherited"), pass_fds=(fd, stray_r))
        report = service.report()
        listen_vars = {k: v for k, v in report["environ"].items() if k.startswith("LISTEN_")}
        self.assertEqual(listen_vars, {"LISTEN_FDS": "2", "LISTEN_PID": str(report["pid"]),
                                       "LISTEN_FDNAMES": "inherited:extra"})
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3", "4"])
        self.assertEqual(report["fds"]["3"]["socket"]["local"], f"127.0.0.1:{port}")
        self.assertEqual(report["fds"]["4"]["socket"]["local"], f"[::1]:{other}")

    def queue_then_inherit(self, early):
        """Connections (source, bytes sent at once) queued on a listener before
        alfwrapper --inherit takes it; returns them with alfwrapper's stderr."""
        s, port = self.listening()
        connections = []
        for src, data in early:
            c = socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=5)
            self.addCleanup(c.close)
            if data:
                c.sendall(data)
            connections.append((src, data, c))
        fd = self.owned_fd(s.fileno())
        service = self.serve(["-v", "--inherit"] + WHITELIST, prefix=activation([fd]), pass_fds=(fd,))
        return connections, service

    def assert_fates(self, connections, service):
        """Admitted peers are served (their early bytes echoed); refused ones are
        reset and nothing of theirs reaches the service."""
        for src, data, c in connections:
            c.settimeout(5)
            try:
                if not data:
                    c.sendall(b"late\n")
                answer = c.recv(100)
            except (ConnectionResetError, BrokenPipeError):
                answer = "reset"
            self.assertEqual(answer, (data or b"late\n") if src == "127.0.0.1" else "reset", src)
        self.assertFalse(any("127.0.0.2" in line for line in service.peers()), service.peers())

    def test_queued_connections_are_judged_one_by_one(self):
        connections, service = self.queue_then_inherit(
            [("127.0.0.1", b"early\n"), ("127.0.0.2", b""), ("127.0.0.1", b"early\n")])
        self.assertIn("3 connection(s) queued before the filter: 2 admitted and left for the service, "
                      "1 refused and destroyed", service.stderr())
        self.assert_fates(connections, service)

    def test_a_refused_connection_that_already_sent_data_never_reaches_the_service(self):
        # A destroyed connection would still give its bytes to accept(): it is
        # accepted and reset by alfwrapper instead, with none admitted lost here.
        connections, service = self.queue_then_inherit([("127.0.0.2", b"refused data\n"), ("127.0.0.1", b"early\n")])
        self.assertIn("2 connection(s) queued before the filter: 1 admitted and left for the service, "
                      "1 refused and destroyed", service.stderr())
        self.assertNotIn("reset", service.stderr())
        self.assert_fates(connections, service)

    def test_a_restarted_service_keeps_the_filter_on_its_socket_with_the_new_entries(self):
        # systemd keeps the socket across a restart (or a crash) of the
        # service: the socket still carries the first run's locked filter.
        s, port = self.listening()
        fd = self.owned_fd(s.fileno())
        whitelist = source_path("filters", "whitelist.c")
        first = self.serve(["--inherit", "--name", "web", "--set", "allow4,0,127.0.0.1/32",
                            "--set", "allow4,1,127.0.0.3/32", whitelist], prefix=activation([fd]), pass_fds=(fd,))
        self.assert_dropped(Peer("127.0.0.1", port), Peer("127.0.0.1", port, src="127.0.0.2"))
        self.assert_served(Peer("127.0.0.1", port, src="127.0.0.3"))
        first.stop()  # as kill -9 or systemctl restart would
        # The same program with other entries: kept, and its map takes the new ones.
        second = self.serve(["-v", "--inherit", "--name", "web", "--set", "allow4,0,127.0.0.2/32", whitelist],
                            prefix=activation([fd]), pass_fds=(fd,))
        self.assertIn("keeping the filter of the earlier run", second.stderr())
        # 127.0.0.3's entry, given by the first run only, is gone.
        self.assert_dropped(Peer("127.0.0.1", port, src="127.0.0.2"), Peer("127.0.0.1", port),
                            Peer("127.0.0.1", port, src="127.0.0.3"))
        second.stop()
        # Another program cannot take the socket: one message, the way out, nothing started.
        r = Run(["--inherit", "-f", "private", "--", "touch", self.marker], prefix=activation([fd]), pass_fds=(fd,))
        self.assertFalse(os.path.exists(self.marker), r)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("carry the locked filter of an earlier run", r.stderr)
        self.assertIn("systemctl restart NAME.socket NAME.service", r.stderr)

    def test_a_restart_that_counts_rule_hits_otherwise_is_refused_with_the_way_out(self):
        s, port = self.listening()
        fd = self.owned_fd(s.fileno())
        first = self.serve(["--inherit", "--name", "web", "--allow", "127.0.0.1", "--rule-hits"],
                           prefix=activation([fd]), pass_fds=(fd,))
        self.assert_served(Peer("127.0.0.1", port))
        first.stop()
        r = Run(["--inherit", "--allow", "127.0.0.1", "--", "touch", self.marker], prefix=activation([fd]),
                pass_fds=(fd,))
        self.assertFalse(os.path.exists(self.marker), r)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("counts hits per rule (--rule-hits), and this run does not", r.stderr)
        self.assertIn("systemctl restart NAME.socket NAME.service", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_datagrams_queued_before_the_filter_never_reach_the_program(self):
        s, port = self.listening(socket.SOCK_DGRAM)
        for src, payload in (("127.0.0.2", b"early-refused"), ("127.0.0.1", b"early-admitted")):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                c.bind((src, 0))
                c.sendto(payload, ("127.0.0.1", port))
        fd = self.owned_fd(s.fileno())
        service = self.serve(["--inherit"] + WHITELIST, prefix=activation([fd], names="dns"), pass_fds=(fd,))
        self.assertIn("2 datagram(s) queued before the filter: 1 refused by it, 1 admitted but discarded",
                      service.stderr())
        self.assert_dropped(Peer("127.0.0.1", port, src="127.0.0.1", udp=True),
                            Peer("127.0.0.1", port, src="127.0.0.2", udp=True))
        self.assertEqual([line.split()[-1] for line in service.peers()], ["ping", "ping"],
                         "the admitted peer's two datagrams; none of the early ones, none of 127.0.0.2's")

    def test_listen_pid_of_another_process(self):
        s, _ = self.listening()
        fd = self.owned_fd(s.fileno())
        err = self.refused(activation([fd], pid="1"), (fd,))
        self.assertIn("LISTEN_PID=1 is not alfwrapper's process id", err)

    def test_names_that_do_not_match_the_count(self):
        s, _ = self.listening()
        fd = self.owned_fd(s.fileno())
        err = self.refused(activation([fd], names="a:b"), (fd,))
        self.assertIn("LISTEN_FDNAMES='a:b' holds 2 names but LISTEN_FDS=1", err)

    def test_nothing_passed(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
        r = Run(["--inherit"] + WHITELIST + ["--", "touch", self.marker], env=env)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("LISTEN_FDS is not set", r.stderr)
        self.assertFalse(os.path.exists(self.marker))

    def test_an_fd_that_is_not_a_socket(self):
        path = self.write("file", "")
        with open(path) as f:
            fd = self.owned_fd(f.fileno())
        err = self.refused(activation([fd]), (fd,))
        self.assertIn(f"fd 3 is a regular file {path}, not a socket", err)

    def test_an_fd_the_filter_cannot_serve(self):
        s, _ = self.listening()
        netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.addCleanup(netlink.close)
        fds = (self.owned_fd(s.fileno()), self.owned_fd(netlink.fileno()))
        err = self.refused(activation(list(fds)), fds)
        self.assertIn(f"fd 4 is a socket of family {socket.AF_NETLINK}", err)

    def test_a_connected_socket(self):
        s, port = self.listening()
        client = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(client.close)
        fd = self.owned_fd(client.fileno())
        self.assertIn("fd 3 is a connected stream socket", self.refused(activation([fd]), (fd,)))

    def test_fewer_fds_than_announced(self):
        s, _ = self.listening()
        fd = self.owned_fd(s.fileno())
        self.assertIn("fd 4 is not open", self.refused(activation([fd], count=2), (fd,)))


if __name__ == "__main__":
    unittest.main()
