"""Map entries typed by BTF: a filter written for this test keys its map by a
nested struct holding a __be16 port and a char array, with an enum value.
Entries given on the command line and in files must be exactly the bytes
expected (read back from the kernel through libbpf), and real connections
must be judged by them."""

import json
import os
import struct
import unittest
import uuid

from harness import AlfTestCase, Peer, free_port, sh

MAP_DUMP = os.environ.get("ALF_MAP_DUMP", "map_dump")

FILTER = """
#include <alfwrapper/filter.h>

enum verdict { REFUSE = 0, ADMIT = 7 };

struct service {
	__u8 proto;
	__u8 flags;
	__be16 port;
};

struct service_key {
	struct service svc;
	char tag[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct service_key);
	__type(value, enum verdict);
	__uint(max_entries, 16);
} @MAP@ SEC(".maps");

/* Admits a packet when the entry for its protocol, destination port and the
 * tag "live" says ADMIT. */
SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct alf_packet p;
	struct service_key key = {};
	enum verdict *v;

	if (alf_packet_parse(skb, &p) < 0)
		return ALF_DROP;
	key.svc.proto = p.protocol;
	key.svc.port = bpf_htons(p.dport);
	__builtin_memcpy(key.tag, "live", 5);
	v = bpf_map_lookup_elem(&@MAP@, &key);
	return v && *v == ADMIT ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
"""


def key_bytes(proto, port, tag, flags=0):
    return struct.pack(">BBH6s", proto, flags, port, tag.encode())


def value_bytes(verdict):
    return struct.pack("<I", verdict)


ADMIT, REFUSE = 7, 0


class TypedMaps(AlfTestCase):
    def setUp(self):
        super().setUp()
        # A name of this run's own: the helper finds the map among all the system's.
        self.map = "svc_" + uuid.uuid4().hex[:8]
        self.filter = self.write("typed.c", FILTER.replace("@MAP@", self.map))
        self.port = free_port()

    def serve_entries(self, *args):
        return self.serve(["--port", str(self.port), "-f", self.filter] + list(args))

    def entries(self):
        out = sh(MAP_DUMP, self.map).stdout
        return {bytes.fromhex(e["key"]): bytes.fromhex(e["value"]) for e in json.loads(out)}

    def live_key(self, tag="live", port=None):
        return {"svc": {"proto": 6, "port": port or self.port}, "tag": tag}

    def test_entries_from_the_command_line(self):
        self.serve_entries("--set", f"{self.map},{json.dumps(self.live_key())},ADMIT",
                           "--set", self.map + ',{"svc":{"proto":17,"flags":1,"port":53},"tag":"dns"},REFUSE')
        self.assertEqual(self.entries(), {
            key_bytes(6, self.port, "live"): value_bytes(ADMIT),
            key_bytes(17, 53, "dns", flags=1): value_bytes(REFUSE),
        })
        self.assert_served(Peer("127.0.0.1", self.port), msg="the entry for this port says ADMIT")

    def test_entries_from_a_json_file(self):
        path = self.write("entries.json", json.dumps([
            {"key": self.live_key(), "value": "ADMIT"},
            [{"svc": {"proto": 17, "port": 53}, "tag": "dns"}, "REFUSE"],
            [{"svc": {"proto": 6, "port": 22}, "tag": "ssh"}, 7],
        ]))
        self.serve_entries("--set-file", f"{self.map}={path}")
        self.assertEqual(self.entries(), {
            key_bytes(6, self.port, "live"): value_bytes(ADMIT),
            key_bytes(17, 53, "dns"): value_bytes(REFUSE),
            key_bytes(6, 22, "ssh"): value_bytes(ADMIT),
        })
        self.assert_served(Peer("127.0.0.1", self.port))

    def test_entries_from_a_text_file(self):
        path = self.write("entries.txt", f"""\
            # KEY VALUE, one a line
            {json.dumps(self.live_key())}   7   # ADMIT by number
            {{"svc": {{"proto": 6, "port": 443}}, "tag": "tls"}} REFUSE
            """)
        self.serve_entries("--set-file", f"{self.map}={path}")
        self.assertEqual(self.entries(), {
            key_bytes(6, self.port, "live"): value_bytes(ADMIT),
            key_bytes(6, 443, "tls"): value_bytes(REFUSE),
        })
        self.assert_served(Peer("127.0.0.1", self.port))

    def test_traffic_refused_by_the_entries(self):
        # REFUSE for this port, and ADMIT only under another tag: no connection.
        # A second socket of the same service, whose port says ADMIT, is served.
        other = free_port()
        self.serve_entries("-l", f"tcp:{other}",
                           "--set", f"{self.map},{json.dumps(self.live_key())},REFUSE",
                           "--set", f"{self.map},{json.dumps(self.live_key('dead'))},ADMIT",
                           "--set", f"{self.map},{json.dumps(self.live_key(port=other))},ADMIT")
        self.assertEqual(self.entries(), {
            key_bytes(6, self.port, "live"): value_bytes(REFUSE),
            key_bytes(6, self.port, "dead"): value_bytes(ADMIT),
            key_bytes(6, other, "live"): value_bytes(ADMIT),
        })
        self.assert_dropped(Peer("127.0.0.1", other), Peer("127.0.0.1", self.port))


if __name__ == "__main__":
    unittest.main()
