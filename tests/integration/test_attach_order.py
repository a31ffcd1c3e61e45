"""alfwrapper attaches the filter to every socket it creates, and locks it,
before it binds the socket and before it listens on it: a socket bound first
would take packets (a SYN, a datagram) that no filter judged. A shim
preloaded into alfwrapper wraps bind() and listen() and records, at each
call, whether the socket already carries a filter and whether it is locked."""

import os
import re
import socket
import unittest

from harness import AlfTestCase, free_port, source_path

SHIM = os.environ.get("ALF_ATTACH_ORDER_SHIM", "attach_order_shim.so")
CALL = re.compile(r"(bind|listen) fd=(\d+) family=(\d+) type=(\d+) filtered=([01]) locked=([01]) address=(.*)")


class AttachOrder(AlfTestCase):
    def calls(self, args):
        """The bind() and listen() calls of `alfwrapper ARGS` on its IP and Unix sockets, as the shim saw them."""
        log = self.path("calls.log")
        env = dict(os.environ, LD_PRELOAD=SHIM, ALF_ATTACH_ORDER_LOG=log)
        self.serve(args, env=env)
        with open(log) as f:
            lines = f.read().splitlines()
        calls = [CALL.fullmatch(line) for line in lines]
        self.assertTrue(all(calls), lines)
        return [m.groups() for m in calls]

    def check(self, args, tcp, udp, unix):
        calls = self.calls(args)
        for call, _, family, _, filtered, locked, address in calls:
            with self.subTest(call=call, address=address):
                self.assertEqual((filtered, locked), ("1", "1"), f"{call} on {address} before the filter was "
                                 "attached and locked")
        binds = sorted((int(family), int(kind), address) for call, _, family, kind, _, _, address in calls
                       if call == "bind")
        self.assertEqual(binds, sorted([(socket.AF_INET6, socket.SOCK_STREAM, f"[::]:{tcp}"),
                                        (socket.AF_INET6, socket.SOCK_DGRAM, f"[::]:{udp}"),
                                        (socket.AF_UNIX, socket.SOCK_STREAM, unix)]),
                         "the shim saw each socket bound once")
        listens = sorted((int(family), int(kind)) for call, _, family, kind, _, _, _ in calls if call == "listen")
        self.assertEqual(listens, sorted([(socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_STREAM)]),
                         "the shim saw each stream socket listen once")

    def sockets(self):
        tcp, udp, unix = free_port(), free_port(socket.SOCK_DGRAM), self.path("ctl.sock")
        return tcp, udp, unix, ["-l", f"tcp:{tcp}", "-l", f"udp:{udp}", "-l", f"unix:{unix}"]

    def test_ebpf_filter_is_attached_and_locked_before_bind_and_listen(self):
        tcp, udp, unix, listen = self.sockets()
        self.check(listen + ["--set", "allow4,0,127.0.0.1/32", source_path("filters", "whitelist.c")], tcp, udp, unix)

    def test_classic_filter_is_attached_and_locked_before_bind_and_listen(self):
        tcp, udp, unix, listen = self.sockets()
        self.check(listen + ["--classic", "--allow", "127.0.0.1"], tcp, udp, unix)


if __name__ == "__main__":
    unittest.main()
