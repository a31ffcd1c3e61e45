"""What the service sees after the hand-off: exactly its socket at fd 3, the
socket-activation environment, nothing else of alfwrapper's."""

import errno
import os
import socket
import unittest

from harness import AlfTestCase, Peer, free_port, source_path


class ChildView(AlfTestCase):
    def start_probe(self, extra_env=None, pass_fds=()):
        port = free_port()
        env = dict(os.environ)
        env.update(extra_env or {})
        service = self.serve(["--port", str(port), source_path("filters", "whitelist-private.c")], env=env,
                             pass_fds=pass_fds)
        return service, service.report(), port

    def test_fd3_is_the_filtered_locked_listening_socket(self):
        service, report, port = self.start_probe()
        sock = report["fds"]["3"]["socket"]
        self.assertEqual(sock["domain"], socket.AF_INET6)
        self.assertEqual(sock["type"], socket.SOCK_STREAM)
        self.assertTrue(sock["listening"])
        self.assertFalse(sock["v6only"], "'::' is dual-stack")
        self.assertEqual(sock["local"], f"[::]:{port}")
        # An eBPF filter is attached: the kernel refuses to hand its program back
        # (a socket without a filter answers with length 0 instead).
        self.assertEqual(sock["get_filter_errno"], errno.EACCES)
        self.assertEqual(sock["lock_filter"], 1)
        self.assertEqual(report["detach_errno"], errno.EPERM, "a locked filter cannot be detached")

    def test_environment_is_exactly_the_socket_activation_protocol(self):
        service, report, _ = self.start_probe({"LISTEN_FDS": "7", "LISTEN_PID": "1", "LISTEN_FDNAMES": "stale"})
        self.assertEqual(report["env"]["LISTEN_FDS"], "1")
        self.assertEqual(report["env"]["LISTEN_PID"], str(report["pid"]))
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "tcp")
        self.assertEqual(report["pid"], service.proc.pid, "alfwrapper execs in place")

    def test_no_other_descriptor_survives(self):
        # An fd alfwrapper inherited without CLOEXEC must not leak into the service either.
        r, w = os.pipe()
        os.set_inheritable(r, True)
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        _, report, _ = self.start_probe(pass_fds=(r,))
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3"], report["fds"])
        self.assertEqual(report["fds"]["0"]["target"], "/dev/null")

    def test_the_socket_serves_admitted_clients(self):
        _, _, port = self.start_probe()
        self.assert_served(Peer("127.0.0.1", port), Peer("::1", port))


if __name__ == "__main__":
    unittest.main()
