/* interfaces: admit only packets that arrived on a listed network interface.
 * Everything else is dropped (everything when the list is empty).
 *
 * Map:
 *   interfaces  array, __u32 slot -> alf_ifindex_t, 32 slots
 * Slots are tried from 0 and the list ends at the first empty slot, so fill
 * them without gaps. The command line takes an interface name (or index):
 *   --set interfaces,0,eth1 --set interfaces,1,wg0
 * Names are resolved once, when alfwrapper starts, in its own network
 * namespace: an interface created later, or deleted and created again (a new
 * index), is not covered until the service is started again.
 *
 * "lo" stands for connections from the host itself (any of its addresses).
 * The interface is the one the packet was delivered on: with a VRF, the VRF
 * device. Packets are judged the same whatever their family or protocol.
 *
 * Example: serve only the VPN and the host itself
 *   alfwrapper -f interfaces --set interfaces,0,wg0 --set interfaces,1,lo --port 8080 -- myserver
 */
#include <alfwrapper/filter.h>

#define INTERFACES_MAX 32

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, alf_ifindex_t);
	__uint(max_entries, INTERFACES_MAX);
} interfaces SEC(".maps");
ALF_MAP_SLOTS(interfaces);

/* Slots read one after the other before the others are searched: most
 * lists are this short. */
#define INTERFACES_FIRST 4

/* Whether slot i lists the interface ifindex. */
static __always_inline bool listed_at(__u32 i, __u32 ifindex)
{
	const alf_ifindex_t *listed = bpf_map_lookup_elem(&interfaces, alf_array_key(i));

	return listed && *listed != 0 && *listed == ifindex;
}

/* bpf_loop callback over the slots after the first ones: 1 (stop) at the
 * first empty slot or at the interface searched for. bpf_loop keeps the
 * verifier's work and the program's size independent of the number of
 * slots. It only reads: the program asks afterwards whether the slot it
 * stopped at lists the interface, and so stores no result on its stack (a
 * store that a delegated alfwrapper's verifier guards with a barrier). */
static long check_slot(__u64 index, const __u32 *ifindex)
{
	const alf_ifindex_t *listed =
		bpf_map_lookup_elem(&interfaces, alf_array_key((__u32)index + INTERFACES_FIRST));

	return !listed || *listed == 0 || *listed == *ifindex;
}

/* Whether a slot before the first empty one lists the interface. The first
 * slots are read one after the other, each a load at a constant key: no
 * callback to call and return from, and no context on the stack, a store
 * that a delegated alfwrapper's verifier follows with a barrier. */
static __always_inline bool listed(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, context;
	long turns;
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < INTERFACES_FIRST; i++) {
		const alf_ifindex_t *slot = bpf_map_lookup_elem(&interfaces, alf_array_key(i));

		if (!slot || *slot == 0)
			return false;
		if (*slot == ifindex)
			return true;
	}
	/* The callback's context: one store, on this path only. */
	context = ifindex;
	turns = bpf_loop(INTERFACES_MAX - INTERFACES_FIRST, check_slot, &context, 0);
	/* The number of slots looked at: the last one is where it stopped. */
	return turns >= 1 && turns <= INTERFACES_MAX - INTERFACES_FIRST &&
	       listed_at((__u32)turns - 1 + INTERFACES_FIRST, skb->ifindex);
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	/* One return through the counters and the log, for the verifier to
	 * check once. */
	return alf_verdict_skb(skb, listed(skb) ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
