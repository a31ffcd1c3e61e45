/* ports: admit packets by ranges of source and destination ports.
 * Everything else is dropped (everything when no rule is set, and packets
 * without ports).
 *
 * Map:
 *   rules  array, __u32 slot -> struct ports_rule, 64 slots
 *          struct ports_rule { struct alf_port_range source, destination; }
 *          struct alf_port_range { __u16 first, last; }  (host order, both included)
 * A packet is admitted when it matches a rule: its source port lies in the
 * rule's source range and its destination port in the destination range; a
 * range left out ({0,0}) matches any port. Slots are tried from 0 and the list
 * ends at the first empty slot (both ranges left out), so fill them without
 * gaps. Rules are set as JSON:
 *   --set 'rules,0,{"source":{"first":1,"last":1023}}'
 *   --set 'rules,1,{"destination":{"first":8000,"last":8099}}'
 *
 * Source port ranges serve protocols that expect clients on privileged source
 * ports (below 1024: only root may bind them), such as rsh-style services or
 * NFS with "secure" exports. Destination port ranges matter on sockets that
 * receive several ports: sockets handed many ports by an sk_lookup program or
 * by TPROXY, or several sockets of one alfwrapper run sharing this filter.
 * A connection keeps its ports, so every packet is judged, not only the first.
 *
 * Examples:
 *   alfwrapper -f ports --set 'rules,0,{"source":{"first":512,"last":1023}}' --port 514 -- rshd
 *   alfwrapper -f ports --set 'rules,0,{"destination":{"first":8000,"last":8009}}' --port 8000 -- myserver
 */
#include <alfwrapper/filter.h>

#define PORTS_RULES_MAX 64

struct ports_rule {
	struct alf_port_range source;
	struct alf_port_range destination;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ports_rule);
	__uint(max_entries, PORTS_RULES_MAX);
} rules SEC(".maps");
ALF_MAP_SLOTS(rules);

/* Whether the range was left out of the rule ({0,0}). */
static __always_inline bool range_is_unset(const struct alf_port_range *range)
{
	return range->first == 0 && range->last == 0;
}

/* Whether port lies in range, a range left out matching any port. */
static __always_inline bool range_admits(const struct alf_port_range *range, __u16 port)
{
	return range_is_unset(range) || alf_port_in_range(port, range);
}

/* Whether rule (NULL: none) is set and admits the packet's ports. */
static __always_inline bool rule_admits(const struct ports_rule *rule, const struct alf_transport *t)
{
	return rule && !(range_is_unset(&rule->source) && range_is_unset(&rule->destination)) &&
	       range_admits(&rule->source, t->sport) && range_admits(&rule->destination, t->dport);
}

/* bpf_loop callback: 1 (stop) at the first empty slot or at a rule that
 * matches. bpf_loop keeps the verifier's work and the program's size
 * independent of the number of slots. It only reads: the program asks
 * afterwards whether the slot it stopped at matches, and so writes no
 * result to its stack, a store that a delegated alfwrapper's verifier
 * guards with a barrier, or zeroes by a helper call first. */
static long check_rule(__u64 index, const struct alf_transport *t)
{
	const struct ports_rule *rule = bpf_map_lookup_elem(&rules, alf_array_key((__u32)index));

	if (!rule || (range_is_unset(&rule->source) && range_is_unset(&rule->destination)))
		return 1;
	return rule_admits(rule, t);
}

/* Whether a rule admits the packet's ports (none: ports 0, a protocol
 * without them or a fragment after the first). */
static __always_inline bool admitted(const struct alf_transport *t)
{
	long turns;

	if (t->sport == 0 || t->dport == 0)
		return false;
	/* The number of slots looked at: the last one is where it stopped. */
	turns = bpf_loop(PORTS_RULES_MAX, check_rule, (void *)t, 0);
	return turns >= 1 && turns <= PORTS_RULES_MAX &&
	       rule_admits(bpf_map_lookup_elem(&rules, alf_array_key((__u32)turns - 1)), t);
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	/* The ports read straight from the packet where the helper loaded
	 * them (the packet is not parsed: nothing to zero, no stack store). */
	struct alf_transport t;

	if (alf_transport_skb(skb, &t) < 0)
		return alf_verdict_skb(skb, ALF_DROP);
	/* One return through the counters and the log for every packet read:
	 * their code once in the program, for the verifier to check once. */
	return alf_verdict_protocol(skb, t.protocol, admitted(&t) ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
