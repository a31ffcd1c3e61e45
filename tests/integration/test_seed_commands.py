"""The seed's command lines, verbatim, against real connections."""

import subprocess
import sys
import unittest

import harness
from harness import AlfTestCase, NetnsPair, Service, tcp_echo

SEED_PORT = 4242
WHITELIST_LINE = ["--address", "::", "--port", "4242",
                  "--set", "allow4,uint32_t:0,subnet4:127.0.0.1/24",
                  "--set", "allow6,uint32_t:0,subnet6:::1/128",
                  "filters/whitelist.c", "examples/echod.sh"]
PRIVATE_LINE = ["--address", "::", "--port", "4242", "filters/whitelist-private.c", "examples/echod.sh"]


class SeedWhitelist(AlfTestCase):
    def run_service(self, args):
        service = Service(args, probe=None)
        self.addCleanup(service.__exit__)
        service.wait_accepting("::1", SEED_PORT)
        return service

    def test_whitelist_seed_line(self):
        self.run_service(WHITELIST_LINE)
        self.assertEqual(tcp_echo("127.0.0.1", SEED_PORT), b"ping\n", "127.0.0.1 lies in 127.0.0.1/24")
        self.assertEqual(tcp_echo("::1", SEED_PORT), b"ping\n", "::1 is listed in allow6")
        self.assertEqual(tcp_echo("127.0.0.1", SEED_PORT, src="127.0.0.200"), b"ping\n", "127.0.0.200 lies in 127.0.0.0/24")
        self.assertIsNone(tcp_echo("127.0.0.1", SEED_PORT, src="127.0.1.1"), "127.0.1.1 is outside 127.0.0.1/24")
        self.assertIsNone(tcp_echo("127.0.1.1", SEED_PORT, src="127.0.1.1"), "127.0.1.1 is outside 127.0.0.1/24")

    def test_ipv4_clients_of_dual_stack_socket_are_judged_by_allow4(self):
        # allow6 admits everything IPv6; allow4 admits only 127.0.0.2: were IPv4
        # clients seen as mapped IPv6, 127.0.0.1 would pass.
        self.run_service(["--port", "4242", "--set", "allow4,0,127.0.0.2/32", "--set", "allow6,0,::/0",
                          "filters/whitelist.c", "examples/echod.sh"])
        self.assertEqual(tcp_echo("::1", SEED_PORT), b"ping\n")
        self.assertEqual(tcp_echo("127.0.0.1", SEED_PORT, src="127.0.0.2"), b"ping\n")
        self.assertIsNone(tcp_echo("127.0.0.1", SEED_PORT, src="127.0.0.1"))


class SeedWhitelistPrivate(AlfTestCase):
    def test_public_client_refused_loopback_served(self):
        with NetnsPair() as net:
            # Control: without a filter, the client namespace reaches the server.
            control = subprocess.Popen(["ip", "netns", "exec", net.server, sys.executable, "-c",
                                        "import socket,sys\n"
                                        "s=socket.create_server(('::',4243),family=socket.AF_INET6,dualstack_ipv6=True)\n"
                                        "print('up',flush=True)\n"
                                        "while True:\n c,_=s.accept(); c.sendall(c.recv(100)); c.close()\n"],
                                       stdout=subprocess.PIPE, text=True)
            try:
                control.stdout.readline()
                self.assertTrue(net.client_tcp_echo(net.server_v4, 4243), "control: veth path must work unfiltered")
                self.assertTrue(net.client_tcp_echo(net.server_v6, 4243), "control: veth path must work unfiltered (IPv6)")
            finally:
                control.kill()
                control.wait()

            service = Service(PRIVATE_LINE, probe=None, netns=net.server)
            self.addCleanup(service.__exit__)
            service.wait_accepting(None, SEED_PORT, netns=net.server)
            self.assertFalse(net.client_tcp_echo(net.server_v4, SEED_PORT), "192.0.2.2 is public: refused")
            self.assertFalse(net.client_tcp_echo(net.server_v6, SEED_PORT), "2001:db8::2 is public: refused")
            self.assertTrue(net.client_tcp_echo("127.0.0.1", SEED_PORT, netns=net.server), "loopback served")
            self.assertTrue(net.client_tcp_echo("::1", SEED_PORT, netns=net.server), "loopback served (IPv6)")
            service.stop()


class BuiltinFilters(AlfTestCase):
    def test_library_filter_by_name_needs_no_file(self):
        port = harness.free_port()
        self.serve(["-f", "whitelist", "--port", str(port), "--set", "allow4,0,127.0.0.2/32"])
        self.assertEqual(tcp_echo("127.0.0.1", port, src="127.0.0.2"), b"ping\n")
        self.assertIsNone(tcp_echo("127.0.0.1", port, src="127.0.0.1"))

    def test_unknown_name_lists_the_library(self):
        r = harness.Run(["-f", "no-such-filter", "true"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("whitelist-private", r.stderr)


if __name__ == "__main__":
    unittest.main()
