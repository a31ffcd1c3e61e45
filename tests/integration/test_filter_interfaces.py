"""The built-in "interfaces" filter: a veth in a namespace of the test's own
against loopback, each admitted only when listed by name."""

import unittest

import harness
from harness import AlfTestCase, NetnsPair, free_port


class Interfaces(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.net = self.enterContext(NetnsPair())
        self.port = free_port()

    def start(self, *names):
        args = ["-f", "interfaces", "--port", str(self.port)]
        for slot, name in enumerate(names):
            args += ["--set", f"interfaces,{slot},{name}"]
        return self.serve(args, netns=self.net.server)

    def via_veth(self, dst):
        return self.net.from_client(dst, self.port)

    def via_loopback(self, dst):
        return self.net.local(dst, self.port)

    def test_veth_listed_loopback_refused(self):
        service = self.start(self.net.server_if)
        self.assert_served(self.via_veth(self.net.server_v6), msg="arrived on the listed veth (IPv6)")
        self.assert_dropped(self.via_veth(self.net.server_v4), self.via_loopback("127.0.0.1"),
                            self.via_loopback("::1"), msg="loopback is not listed")
        # The veth's own address reached from inside the namespace still comes over lo.
        self.assert_dropped(self.via_veth(self.net.server_v4), self.via_loopback(self.net.server_v4),
                            msg="local traffic to the veth's address uses lo")
        service.stop()

    def test_loopback_listed_veth_refused(self):
        self.start("lo")
        self.assert_served(self.via_loopback("::1"))
        self.assert_dropped(self.via_loopback("127.0.0.1"), self.via_veth(self.net.server_v4),
                            self.via_veth(self.net.server_v6), msg="the veth is not listed")

    def test_both_listed(self):
        self.start("lo", self.net.server_if)
        self.assert_served(self.via_loopback("127.0.0.1"), self.via_veth(self.net.server_v4))

    def test_a_long_list_is_searched_to_its_end(self):
        # The filter reads its first slots one by one and searches the rest;
        # indexes no interface of the namespace has fill the slots before.
        for listed_at in (2, 3, 4, 31):
            with self.subTest(slot=listed_at):
                service = self.start(*[str(1000 + slot) for slot in range(listed_at)], self.net.server_if)
                self.assert_served(self.via_veth(self.net.server_v4))
                self.assert_dropped(self.via_veth(self.net.server_v6), self.via_loopback("127.0.0.1"),
                                    msg="loopback is not listed")
                service.stop()

    def test_empty_list_refuses_everything(self):
        service = self.start()
        self.assert_silent(service, f"*:{self.port}", self.via_loopback("127.0.0.1"), self.via_veth(self.net.server_v4))

    def test_unknown_interface_name_is_an_error(self):
        r = harness.Run(["-f", "interfaces", "--port", str(self.port), "--set", "interfaces,0,no-such-if0", "true"],
                        netns=self.net.server)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no-such-if0", r.stderr)


if __name__ == "__main__":
    unittest.main()
