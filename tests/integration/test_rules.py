"""Declarative rules (--allow, --deny, --rules-file) judged by real
connections: IPv4 sources from 127.0.0.0/8, IPv6 sources added to the
loopback of a namespace the test creates."""

import os
import socket
import unittest

from harness import AlfTestCase, LoopbackNetns, Run, free_port


class RulesCase(AlfTestCase):
    def serve_rules(self, *args, netns=None):
        port = free_port()
        return port, self.serve(["--port", str(port)] + list(args), netns=netns)


class Semantics(RulesCase):
    def test_deny_inside_allow(self):
        port, _ = self.serve_rules("--allow", "127.0.0.0/8", "--deny", "127.0.0.2")
        self.assert_sources(port, ["127.0.0.1", "127.0.0.3", "127.1.2.3"], ["127.0.0.2"])

    def test_allow_inside_deny(self):
        port, _ = self.serve_rules("--deny", "127.0.0.0/8", "--allow", "127.0.0.3/32")
        self.assert_sources(port, ["127.0.0.3"], ["127.0.0.1", "127.0.0.4"])

    def test_a_tie_denies(self):
        port, _ = self.serve_rules("--allow", "127.0.0.0/8", "--allow", "127.0.0.5", "--deny", "127.0.0.5/32")
        self.assert_sources(port, ["127.0.0.6"], ["127.0.0.5"])

    def test_unmatched_peers_refused_when_an_allow_rule_exists(self):
        port, _ = self.serve_rules("--allow", "127.0.0.1")
        self.assert_sources(port, ["127.0.0.1"], ["127.0.0.2", "::1"])

    def test_unmatched_peers_admitted_without_allow_rules(self):
        port, _ = self.serve_rules("--deny", "127.0.0.2")
        self.assert_sources(port, ["127.0.0.1", "127.0.0.3", "::1"], ["127.0.0.2"])

    def test_ipv4_mapped_rules_apply_to_ipv4_peers(self):
        port, _ = self.serve_rules("--allow", "::ffff:127.0.0.0/120", "--deny", "::ffff:127.0.0.9")
        self.assert_sources(port, ["127.0.0.1"], ["127.0.0.9", "127.0.1.1", "::1"])

    def test_rules_file_with_comments(self):
        path = self.write("networks.txt", """\
            # who may reach the service
            allow 127.0.0.0/24     # the local /24
            deny  127.0.0.7
            allow ::1
            """)
        port, _ = self.serve_rules("--rules-file", path)
        self.assert_sources(port, ["127.0.0.1", "::1"], ["127.0.0.7", "127.0.1.1"])

    def test_udp_datagrams(self):
        port = free_port(socket.SOCK_DGRAM)
        self.serve(["--port", str(port), "--type", "SOCK_DGRAM", "--allow", "127.0.0.1"])
        self.assert_sources(port, ["127.0.0.1"], ["127.0.0.2"], udp=True)

    def test_overlaps_and_duplicates_reported_in_verbose_output(self):
        port, service = self.serve_rules("-v", "--allow", "127.0.0.0/8", "--allow", "127.0.0.0/8",
                                         "--deny", "127.0.0.2", "--allow", "127.0.0.2")
        self.assert_sources(port, ["127.0.0.1"], ["127.0.0.2"])
        err = service.stderr()
        self.assertIn("1 duplicate, 1 tied (deny wins), 1 inside a less specific rule", err)
        self.assertIn("--allow 127.0.0.0/8 duplicates --allow 127.0.0.0/8", err)


class Ipv6(RulesCase):
    def test_ipv6_sources(self):
        sources = ["2001:db8::10", "2001:db8::20", "2001:db8:1::30", "2001:db8:1::31"]
        with LoopbackNetns(sources) as ns:
            port, _ = self.serve_rules("--allow", "2001:db8::/32", "--deny", "2001:db8::20",
                                       "--deny", "2001:db8:1::/48", "--allow", "2001:db8:1::30/128", netns=ns.name)
            self.assert_sources(port, netns=ns.name,
                                admitted=["2001:db8::10",     # 2001:db8::/32
                                          "2001:db8:1::30"],  # /128 inside the denied /48
                                refused=["2001:db8::20",      # its own /128 denies
                                         "2001:db8:1::31",    # the /48
                                         "::1", "127.0.0.1"])  # no rule: refused, allow rules exist


class WithAFilter(RulesCase):
    def test_rules_combine_with_a_custom_filter(self):
        # The filter takes the rules and adds its own logic: 127.0.0.3 is refused
        # although the rules admit it.
        path = self.write("own.c", """\
            #include <alfwrapper/filter.h>
            #include <alfwrapper/rules.h>

            SEC("socket") int filter(struct __sk_buff *skb)
            {
                struct alf_packet p;

                if (alf_packet_parse(skb, &p) < 0 || alf_rules_decide(&p) != ALF_RULE_ALLOW)
                    return ALF_DROP;
                return p.family == ALF_AF_INET && p.saddr[3] == 3 ? ALF_DROP : ALF_PASS;
            }

            char LICENSE[] SEC("license") = "Dual BSD/GPL";
            """)
        port, _ = self.serve_rules("-f", path, "--allow", "127.0.0.0/8", "--deny", "127.0.0.2")
        self.assert_sources(port, ["127.0.0.1", "127.0.0.4"], ["127.0.0.2", "127.0.0.3"])

    def test_a_filter_without_the_rule_maps_refuses_rules(self):
        marker = self.marker
        r = Run(["--port", str(free_port()), "-f", "whitelist-private", "--allow", "127.0.0.1", "--",
                 "touch", marker])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("does not take --allow/--deny/--rules-file rules", r.stderr)
        self.assertIn("<alfwrapper/rules.h>", r.stderr)
        self.assertFalse(os.path.exists(marker))


if __name__ == "__main__":
    unittest.main()
