"""alfctl map: a running service's maps listed, read and changed by their
BTF types, with real clients before and after each change."""

import json
import subprocess

from harness import ALFCTL, AS_NOBODY, AlfTestCase, Peer, alfctl, free_port, source_path

# A filter with the kinds of map the whitelist has not: per-CPU counters, an
# LPM trie whose value may be left out, and a list of slots.
COUNTING_FILTER = """
    #include <alfwrapper/filter.h>

    struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __type(key, __u32);
        __type(value, __u64);
        __uint(max_entries, 1);
    } packets SEC(".maps");

    struct {
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);
        __type(key, struct alf_ipv4_subnet);
        __type(value, __u8);
        __uint(max_entries, 16);
        __uint(map_flags, BPF_F_NO_PREALLOC);
    } blocked SEC(".maps");
    ALF_MAP_DEFAULT_VALUE(blocked, 1);

    struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __type(key, __u32);
        __type(value, alf_port_t);
        __uint(max_entries, 4);
    } ports SEC(".maps");
    ALF_MAP_SLOTS(ports);

    SEC("socket")
    int filter(struct __sk_buff *skb)
    {
        struct alf_packet packet;
        __u32 zero = 0;
        __u64 *count = bpf_map_lookup_elem(&packets, &zero);
        alf_port_t *port = bpf_map_lookup_elem(&ports, &zero);
        const __u8 *source;

        if (count)
            *count += 1;
        if (alf_packet_parse(skb, &packet) < 0 || (port && *port == 1))
            return ALF_DROP;
        source = alf_packet_ipv4_source(&packet);
        if (source) {
            struct alf_ipv4_subnet key = { .prefixlen = 32 };

            __builtin_memcpy(key.addr, source, 4);
            if (bpf_map_lookup_elem(&blocked, &key))
                return ALF_DROP;
        }
        return ALF_PASS;
    }

    char LICENSE[] SEC("license") = "Dual BSD/GPL";
    """


def possible_cpus():
    """How many CPUs a per-CPU map keeps a value for: the kernel's possible ones ("0-3,6")."""
    with open("/sys/devices/system/cpu/possible") as f:
        ranges = [part.split("-") for part in f.read().strip().split(",")]
    return sum(int(r[-1]) - int(r[0]) + 1 for r in ranges)


class AlfctlMap(AlfTestCase):
    def start(self, *args):
        self.port = free_port()
        self.name = f"map-{self.port}"
        return self.serve(["--name", self.name, "--port", str(self.port)] + list(args))

    def peer(self, src):
        return Peer("127.0.0.1", self.port, src=src)

    def map(self, *args, ok=True):
        r = alfctl("map", self.name, *args)
        self.assertEqual(r.returncode, 0 if ok else 1, r)
        return r

    def map_json(self, *args):
        return json.loads(self.map(*args, "--json").stdout)

    def assert_refused(self, *args, message, unchanged):
        """The command fails with one line naming the problem, and the map
        `unchanged` names holds what it held before."""
        before = self.map_json(unchanged, "dump")["entries"]
        r = self.map(*args, ok=False)
        self.assertIn(message, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.map_json(unchanged, "dump")["entries"], before, f"{args} changed {unchanged}")

    def test_set_and_delete_change_who_is_served(self):
        self.start("-f", "whitelist", "--map-size", "allow4=3", "--set", "allow4,0,127.0.0.1/32")
        admitted, newcomer = self.peer("127.0.0.1"), self.peer("127.0.0.2")
        self.assert_dropped(admitted, newcomer)
        self.assertEqual(self.map("allow4", "set", "1", "127.0.0.2/32").stdout,
                         "allow4: 1 = 127.0.0.2/32 (a new entry)\n")
        self.assert_served(newcomer, admitted)
        self.assertEqual(self.map("allow4", "get", "1").stdout, "127.0.0.2/32\n")
        self.assertEqual(self.map_json("allow4", "get", "uint32_t:1"),
                         {"name": self.name, "pid": self.map_json()["pid"], "filter": "whitelist", "map": "allow4",
                          "key": 1, "value": "127.0.0.2/32"})
        self.assertEqual(self.map("allow4").stdout, self.map("allow4", "dump").stdout, "dump is the default action")
        dump = self.map("allow4", "dump").stdout.splitlines()
        self.assertEqual(dump[0], "# allow4: hash, key __u32, value struct alf_ipv4_subnet, 2 of 3 entries")
        self.assertEqual(sorted(dump[1:]), ["0 127.0.0.1/32", "1 127.0.0.2/32"])
        dumped = self.map_json("allow4", "dump")
        self.assertEqual(sorted((e["key"], e["value"]) for e in dumped["entries"]),
                         [(0, "127.0.0.1/32"), (1, "127.0.0.2/32")])
        self.assertEqual(dumped["map"]["value_type"], "struct alf_ipv4_subnet")
        # The text dump is what --set-file reads.
        restored = self.write("allow4.txt", self.map("allow4").stdout)
        r = alfctl("check", "-f", "whitelist", "--set-file", f"allow4={restored}")
        self.assertEqual(r.returncode, 0, r)

        replaced = self.map_json("allow4", "set", "1", "subnet4:127.0.0.3/32")
        self.assertEqual((replaced["value"], replaced["previous"]), ("127.0.0.3/32", "127.0.0.2/32"))
        self.assert_dropped(admitted, newcomer)
        self.assert_served(self.peer("127.0.0.3"))
        self.assertEqual(self.map("allow4", "delete", "1").stdout, "allow4: 1 deleted (it was 127.0.0.3/32)\n")
        self.assert_dropped(admitted, self.peer("127.0.0.3"))

        maps = {m["name"]: m for m in self.map_json()["maps"]}
        self.assertLessEqual({"allow4", "allow6", "alf_meta", "alf_stats", "alf_log"}, set(maps))
        self.assertEqual((maps["allow4"]["entries"], maps["allow4"]["max_entries"]), (1, 3))
        self.assertEqual(maps["allow6"]["value_type"], "struct alf_ipv6_subnet")
        self.assertIn("alfwrapper's record", maps["alf_meta"]["read_only"])
        self.assertIsNone(maps["allow4"]["read_only"])
        listed = self.map().stdout
        self.assertIn(f"# service {self.name} (pid ", listed)
        self.assertRegex(listed, r"\nallow6 +hash +__u32 +struct alf_ipv6_subnet +0/1024\n")
        self.assertEqual(self.map_json("alf_meta", "get", "0")["value"]["name"], self.name)
        # The filter's per-CPU counters: each struct summed field by field.
        counters = self.map_json("alf_stats")["entries"]
        self.assertTrue(any(entry["value"]["packets"] > 0 for entry in counters))
        for entry in counters:
            self.assertEqual(entry["value"]["packets"], sum(cpu["packets"] for cpu in entry["per_cpu"]))

    def test_bad_input_changes_nothing(self):
        self.start("-f", "whitelist", "--map-size", "allow4=3", "--set", "allow4,0,127.0.0.1/32",
                   "--set", "allow4,1,127.0.0.3/32")
        refused = lambda *args, message: self.assert_refused(*args, message=message, unchanged="allow4")  # noqa: E731
        refused("allow4", "set", "one", "127.0.0.2/32", message="allow4.key: 'one' is not a number (expected __u32")
        refused("allow4", "set", "2", "127.0.0.300/32",
                message="allow4.value (struct alf_ipv4_subnet, an IPv4 subnet like 10.0.0.0/8)")
        refused("allow4", "set", "2", "subnet6:::1/128", message="'subnet6:' does not match the map's type struct alf_ipv4_subnet")
        refused("allow4", "set", "2", message="needs a VALUE of type struct alf_ipv4_subnet")
        refused("allow4", "get", "7", message="map allow4 has no entry for key 7")
        refused("allow4", "delete", "7", message="no entry for key 7: nothing was deleted")
        refused("allow5", "set", "2", "127.0.0.2/32", message="no map named allow5; the filter's maps: allow4, allow6")
        refused("allow4", "put", "2", "127.0.0.2/32", message="unknown action put")
        refused("alf_meta", "set", "0", "{}", message="alfwrapper's record of the service")
        refused("alf_meta", "delete", "0", message="alfwrapper's record of the service")
        self.map("allow4", "set", "2", "127.0.0.2/32")
        refused("allow4", "set", "3", "127.0.0.4/32", message="map allow4 is full: it holds 3 entries")
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.4"))
        r = alfctl("map", "no-such-service")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("no running service is named no-such-service", r.stderr)
        r = alfctl("map", self.name, "allow4", "delete", "0", prefix=AS_NOBODY)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("needs root: CAP_SYS_ADMIN and CAP_BPF", r.stderr)
        self.assertEqual(self.map("allow4", "get", "0").stdout, "127.0.0.1/32\n")

    def test_per_cpu_counters_default_values_slots_and_constants(self):
        self.start(self.write("counting.c", COUNTING_FILTER), "--set", "ports,0,80")
        admitted, blocked = self.peer("127.0.0.1"), self.peer("127.0.0.2")
        self.assert_served(admitted, blocked)
        # A key alone: the value the filter declares (ALF_MAP_DEFAULT_VALUE), in an LPM trie.
        self.assertEqual(self.map("blocked", "set", "127.0.0.2").stdout, "blocked: 127.0.0.2/32 = 1 (a new entry)\n")
        self.assert_dropped(admitted, blocked)
        # Keys are matched exactly, not by the trie's longest prefix.
        self.map("blocked", "set", "10.0.0.0/8", "7")
        self.assertEqual(self.map("blocked", "get", "10.0.0.0/8").stdout, "7\n")
        self.assert_refused("blocked", "get", "10.1.0.0/16", message="no entry for key 10.1.0.0/16",
                            unchanged="blocked")
        self.assertEqual(self.map("blocked", "delete", "127.0.0.2/32").stdout,
                         "blocked: 127.0.0.2/32 deleted (it was 1)\n")
        self.assert_served(blocked)

        # Per-CPU: each CPU's count, and their sum.
        counted = self.map_json("packets", "get", "0")
        self.assertEqual(len(counted["per_cpu"]), possible_cpus())
        self.assertEqual(counted["value"], sum(counted["per_cpu"]))
        self.assertGreater(counted["value"], 0)
        # Late packets of the connections above (their FINs) may still be counted.
        self.assertGreaterEqual(int(self.map("packets", "get", "0").stdout), counted["value"])
        self.assertIn("per-CPU: each value is the sum over the CPUs", self.map("packets").stdout)
        self.map("packets", "set", "0", "1000")
        counted = self.map_json("packets", "get", "0")
        # 1000 (and any late packet counted since), on one CPU: the others 0.
        self.assertTrue(1000 <= counted["value"] < 1010, counted)
        self.assertGreaterEqual(sorted(counted["per_cpu"])[-1], 1000, counted)

        # Slots: no gap may be left, and an array's entry is zeroed by delete.
        self.assert_refused("ports", "set", "2", "90", message="slot 1 is empty", unchanged="ports")
        self.map("ports", "set", "1", "81")
        self.assert_refused("ports", "delete", "0", message="emptying slot 0 would hide", unchanged="ports")
        self.assertEqual(self.map("ports", "delete", "1").stdout,
                         "ports: 1 deleted (it was 81; an array's entry is zeroed)\n")
        self.assertEqual(self.map("ports").stdout.splitlines()[1:], ["0 80", "1 0", "2 0", "3 0"])
        self.assert_refused("ports", "set", "4", "80", message="not one of its indexes 0 to 3", unchanged="ports")

        # The filter's constants: shown by name, never changed.
        (constants,) = [m["name"] for m in self.map_json()["maps"] if m["name"].endswith(".rodata")]
        declared = self.map_json(constants)["entries"][0]["value"]
        self.assertEqual((declared["alf_default_value__blocked"], declared["alf_slots__ports"]), (1, 1))
        self.assert_refused(constants, "set", "0", "{}", message="the filter's constants", unchanged=constants)
        self.assert_served(admitted, blocked)

    def test_maps_alfwrapper_manages_point_to_their_verbs(self):
        self.start("--allow", "127.0.0.1")
        for table in ("alf_rules4", "alf_rules_state"):
            self.assert_refused(table, "set", "0", "{}", unchanged=table,
                                message=f"change them with alfctl rules {self.name} allow|deny|remove|replace")
        self.assertEqual(self.map_json("alf_rules_state")["map"]["type"], "array", "read-only, not hidden")
        self.assert_refused("alf_stats", "set", "0", "{}", message=f"alfctl stats {self.name} shows it",
                            unchanged="alf_stats")
        self.assert_refused("alf_log_state", "delete", "0", message=f"alfctl log {self.name} shows it",
                            unchanged="alf_log_state")
        self.assert_dropped(self.peer("127.0.0.1"), self.peer("127.0.0.2"))

    def test_completion_names_services_maps_and_actions(self):
        self.start("-f", "whitelist")
        script = f"""
            source {source_path("completion", "alfwrapper.bash")}
            complete_line() {{
                COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=()
                _alfctl "$1"
                echo "${{COMPREPLY[*]}}"
            }}
            complete_line {ALFCTL} map {self.name[:-1]}
            complete_line {ALFCTL} map {self.name} ""
            complete_line {ALFCTL} map {self.name} allow4 ""
            complete_line {ALFCTL} ma
            complete_line {ALFCTL} -v --json map {self.name} ""
            complete_line {ALFCTL} -q map {self.name} allow4 ""
            complete_line {ALFCTL} -v r
            complete_line {ALFCTL} -
            """
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn(self.name, lines[0].split())
        self.assertLessEqual({"allow4", "allow6", "alf_meta", "alf_stats"}, set(lines[1].split()))
        self.assertEqual(lines[2:4], ["dump get set delete", "map"])
        # -v, -q and --json before the verb
        self.assertEqual(lines[4].split(), lines[1].split())
        self.assertEqual(lines[5:7], ["dump get set delete", "rules"])
        self.assertEqual(set(lines[7].split()), {"--help", "--version", "-v", "-q", "--json"})
