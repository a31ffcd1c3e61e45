"""A million rules: IPv4 and IPv6 prefixes from a rules file, and real
connections admitted and refused correctly at that size. The sources sit
under a chain of nested rules (allow and deny alternating, /8 to /32 and
/32 to /128) among a million random prefixes that stay clear of them."""

import random
import re
import unittest

from harness import AlfTestCase, LoopbackNetns, free_port

RANDOM_RULES = 1_000_000

CHAIN = [
    "allow 127.0.0.0/8", "deny 127.1.0.0/16", "allow 127.1.2.0/24", "deny 127.1.2.128/25", "allow 127.1.2.200/32",
    "allow 2001:db8::/32", "deny 2001:db8:1::/48", "allow 2001:db8:1:2::/64", "deny 2001:db8:1:2::ff00/120",
    "allow 2001:db8:1:2::ff10/128",
]

EXPECTED = {
    "127.0.0.1": True,            # allow /8
    "127.1.0.1": False,           # deny /16
    "127.1.2.3": True,            # allow /24
    "127.1.2.130": False,         # deny /25
    "127.1.2.200": True,          # allow /32
    "2001:db8::5": True,          # allow /32
    "2001:db8:1::5": False,       # deny /48
    "2001:db8:1:2::5": True,      # allow /64
    "2001:db8:1:2::ff01": False,  # deny /120
    "2001:db8:1:2::ff10": True,   # allow /128
    "::1": False,                 # no rule covers it: refused, allow rules exist
}


def write_rules(path):
    """The chain, then random prefixes, half IPv4 and half IPv6, none
    touching 127.0.0.0/8 or 2001:db8::/32."""
    rng = random.Random(1)
    lines = list(CHAIN)
    for i in range(RANDOM_RULES):
        verb = "deny" if rng.random() < 0.25 else "allow"
        if i % 2 == 0:
            length = rng.randint(12, 32)
            address = rng.getrandbits(32)
            if address >> 24 == 127:
                address ^= 0x40000000
            address &= (0xffffffff << (32 - length)) & 0xffffffff
            lines.append(f"{verb} {address >> 24}.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}/{length}")
        else:
            length = rng.choice((rng.randint(24, 64), 128))
            address = (0x2 << 124) | rng.getrandbits(124)
            if address >> 96 == 0x20010db8:
                address ^= 1 << 96
            address &= ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1)
            groups = ":".join(f"{address >> (112 - 16 * g) & 0xffff:x}" for g in range(8))
            lines.append(f"{verb} {groups}/{length}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class MillionRules(AlfTestCase):
    def test_a_million_prefixes_admit_and_refuse_correctly(self):
        rules = self.path("million.rules")
        write_rules(rules)
        sources = [s for s in EXPECTED if ":" in s and s != "::1"]
        with LoopbackNetns(sources) as ns:
            port = free_port()
            service = self.serve(["-v", "--port", str(port), "--rules-file", rules], netns=ns.name, report_timeout=60)
            loaded = re.search(r"rules: (\d+) IPv4, (\d+) IPv6", service.stderr())
            self.assertIsNotNone(loaded, service.stderr())
            self.assertEqual(int(loaded[1]) + int(loaded[2]), RANDOM_RULES + len(CHAIN))
            self.assert_sources(port, [s for s, admitted in EXPECTED.items() if admitted],
                                [s for s, admitted in EXPECTED.items() if not admitted], netns=ns.name)
            service.stop()


if __name__ == "__main__":
    unittest.main()
