"""The seed's command lines, verbatim, against real connections."""

import unittest

import harness
from harness import AlfTestCase, EchoServer, NetnsPair, Peer, Service

SEED_PORT = 4242
WHITELIST_LINE = ["--address", "::", "--port", "4242",
                  "--set", "allow4,uint32_t:0,subnet4:127.0.0.1/24",
                  "--set", "allow6,uint32_t:0,subnet6:::1/128",
                  "filters/whitelist.c", "examples/echod.sh"]
PRIVATE_LINE = ["--address", "::", "--port", "4242", "filters/whitelist-private.c", "examples/echod.sh"]


class SeedWhitelist(AlfTestCase):
    def run_service(self, args, admitted):
        """The seed's service (echod.sh, no probe), ready once `admitted` is served."""
        service = Service(args, probe=None)
        self.addCleanup(service.__exit__)
        service.wait_served(admitted)
        return service

    def test_whitelist_seed_line(self):
        admitted = Peer("127.0.0.1", SEED_PORT)
        self.run_service(WHITELIST_LINE, admitted)
        self.assert_served(Peer("::1", SEED_PORT), msg="::1 is listed in allow6")
        self.assert_served(Peer("127.0.0.1", SEED_PORT, src="127.0.0.200"), msg="127.0.0.200 lies in 127.0.0.0/24")
        self.assert_dropped(admitted, Peer("127.0.0.1", SEED_PORT, src="127.0.1.1"),
                            Peer("127.0.1.1", SEED_PORT, src="127.0.1.1"), msg="127.0.1.1 is outside 127.0.0.1/24")

    def test_ipv4_clients_of_dual_stack_socket_are_judged_by_allow4(self):
        # allow6 admits everything IPv6; allow4 admits only 127.0.0.2: were IPv4
        # clients seen as mapped IPv6, 127.0.0.1 would pass.
        admitted = Peer("::1", SEED_PORT)
        self.run_service(["--port", "4242", "--set", "allow4,0,127.0.0.2/32", "--set", "allow6,0,::/0",
                          "filters/whitelist.c", "examples/echod.sh"], admitted)
        self.assert_served(Peer("127.0.0.1", SEED_PORT, src="127.0.0.2"))
        self.assert_dropped(admitted, Peer("127.0.0.1", SEED_PORT, src="127.0.0.1"))


class SeedWhitelistPrivate(AlfTestCase):
    def test_public_client_refused_loopback_served(self):
        with NetnsPair() as net:
            public = [net.from_client(net.server_v4, SEED_PORT), net.from_client(net.server_v6, SEED_PORT)]
            # Control: without a filter, the client namespace reaches the server on the same port.
            with EchoServer(SEED_PORT, netns=net.server):
                self.assert_served(*public, msg="control: the veth path must work unfiltered")

            loopback = net.local("127.0.0.1", SEED_PORT)
            service = Service(PRIVATE_LINE, probe=None, netns=net.server)
            self.addCleanup(service.__exit__)
            service.wait_served(loopback)
            self.assert_dropped(loopback, *public, msg="192.0.2.2 and 2001:db8::2 are public")
            self.assert_served(net.local("::1", SEED_PORT), msg="loopback served (IPv6)")
            service.stop()


class BuiltinFilters(AlfTestCase):
    def test_library_filter_by_name_needs_no_file(self):
        port = harness.free_port()
        self.serve(["-f", "whitelist", "--port", str(port), "--set", "allow4,0,127.0.0.2/32"])
        self.assert_dropped(Peer("127.0.0.1", port, src="127.0.0.2"), Peer("127.0.0.1", port, src="127.0.0.1"))

    def test_unknown_name_lists_the_library(self):
        r = harness.Run(["-f", "no-such-filter", "true"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("whitelist-private", r.stderr)


if __name__ == "__main__":
    unittest.main()
