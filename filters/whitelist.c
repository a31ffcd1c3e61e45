/* whitelist: admit only peers whose source address lies in a listed subnet.
 *
 * Maps (key: an index 0, 1, 2, ...; value: a subnet):
 *   allow4  hash, __u32 -> struct alf_ipv4_subnet, up to 1024 entries
 *   allow6  hash, __u32 -> struct alf_ipv6_subnet, up to 1024 entries
 *
 * An IPv4 packet is admitted if its source lies in a subnet of allow4, an
 * IPv6 packet if its source lies in a subnet of allow6. IPv4 clients of a
 * dual-stack IPv6 socket arrive as IPv4 packets and are judged by allow4; so
 * is an IPv6 packet from an IPv4-mapped source (::ffff:a.b.c.d), by its
 * embedded IPv4 address. Everything else is dropped, including packets that
 * cannot be parsed and everything when both maps are empty.
 *
 * The subnets are tried in index order, starting at 0; the list ends at the
 * first missing index, so number them without gaps. The cost per packet grows
 * with the number of subnets: for thousands of networks use the "subnets"
 * filter (--allow/--deny), whose cost barely grows.
 *
 * Fill the maps on the command line, e.g.
 *   --set allow4,0,10.0.0.0/8 --set allow4,1,192.0.2.7/32 --set allow6,0,2001:db8::/32
 * or in the typed form
 *   --set allow4,uint32_t:0,subnet4:127.0.0.1/24 --set allow6,uint32_t:0,subnet6:::1/128
 */
#include <alfwrapper/filter.h>

#define WHITELIST_MAX_ENTRIES 1024

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct alf_ipv4_subnet);
	__uint(max_entries, WHITELIST_MAX_ENTRIES);
} allow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct alf_ipv6_subnet);
	__uint(max_entries, WHITELIST_MAX_ENTRIES);
} allow6 SEC(".maps");

/* What the searches read, straight from the packet by one helper call (no
 * parse, nothing zeroed): the source, and the IP header's bytes before it.
 * Each turn of a search writes into `found` whether the subnet it tried
 * holds the source, so the turn that ends the search leaves the answer
 * there. `found` is the protocol byte, read before the search: a byte the
 * helper wrote, whose value the verifier treats as unknown from the start
 * (the callback's stores leave it so, and it checks the callback no more
 * often for them; a constant 0 stored before the search made it check the
 * callback once more), and where the verifier guards stack stores (a
 * delegated alfwrapper) a store there takes no barrier. At the first byte
 * of an 8-byte stack slot it took one at every turn: the verifier tracks a
 * value stored there as a register spilled to the stack. */
struct search_ipv4 {
	__u8 ttl;
	__u8 found;       /* the protocol, then the search's answer */
	__u8 checksum[2];
	__u8 addr[4];     /* the source, network order */
};

struct search_ipv6 {
	__u8 version_class_flow[4];
	__u8 payload_length[2];
	__u8 found;       /* the next header, then the search's answer */
	__u8 hop_limit;
	__u64 halves[2];  /* the source, converted in place to host order once for every subnet
			   * (alf_ipv6_halves_in_subnet) */
};

union search {
	struct search_ipv4 v4; /* IPv4 and IPv4-mapped sources */
	struct search_ipv6 v6;
};

static __always_inline const struct alf_ipv4_subnet *subnet4(__u32 index)
{
	__u32 key;

	return bpf_map_lookup_elem(&allow4, alf_index_key(index, &key));
}

static __always_inline const struct alf_ipv6_subnet *subnet6(__u32 index)
{
	__u32 key;

	return bpf_map_lookup_elem(&allow6, alf_index_key(index, &key));
}

/* bpf_loop callbacks: 1 (stop) at the first missing index or at a subnet
 * holding the address, `found` set at every turn. bpf_loop keeps the
 * verifier's work independent of the number of entries. */
static long search_allow4(__u64 index, struct search_ipv4 *search)
{
	const struct alf_ipv4_subnet *subnet = subnet4((__u32)index);

	if (!subnet) {
		search->found = 0;
		return 1;
	}
	search->found = alf_ipv4_in_subnet(search->addr, subnet);
	return search->found;
}

static long search_allow6(__u64 index, struct search_ipv6 *search)
{
	const struct alf_ipv6_subnet *subnet = subnet6((__u32)index);

	if (!subnet) {
		search->found = 0;
		return 1;
	}
	search->found = alf_ipv6_halves_in_subnet(search->halves, subnet);
	return search->found;
}

/* Whether a subnet of allow4 holds the source. Every turn sets `found`, and
 * the loop ends with the turn that stops it or with that of index 1023 (the
 * map holds at most 1024 entries): the answer is the last turn's. Asking
 * the map again afterwards, as this filter did, cost a lookup a packet and
 * had the verifier check the subnet's test a second time at every load. */
static __always_inline bool found4(struct search_ipv4 *search)
{
	bpf_loop(WHITELIST_MAX_ENTRIES, search_allow4, search, 0);
	return search->found;
}

static __always_inline bool found6(struct search_ipv6 *search)
{
	bpf_loop(WHITELIST_MAX_ENTRIES, search_allow6, search, 0);
	return search->found;
}

/* Whether the packet's source lies in a listed subnet; *protocol its IP
 * header's protocol byte (0 when the packet has no IP header to read). An
 * IPv4-mapped source goes on to the one IPv4 search, where the verifier
 * finds the state it has checked already. */
static __always_inline bool admitted(struct __sk_buff *skb, union search *search, __u8 *protocol)
{
	int i;

	*protocol = 0;
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		if (alf_load_net(skb, 8, search, sizeof(search->v4)) < 0)
			return false;
		*protocol = search->v4.found;
	} else {
		if (skb->protocol != ALF_SKB_PROTOCOL_IPV6 || alf_load_net(skb, 0, search, sizeof(search->v6)) < 0)
			return false;
		*protocol = search->v6.found;
		if (!alf_ipv6_is_v4mapped((const __u8 *)search->v6.halves)) {
#pragma clang loop unroll(full)
			for (i = 0; i < 2; i++)
				search->v6.halves[i] = bpf_be64_to_cpu(search->v6.halves[i]);
			return found6(&search->v6);
		}
		/* Judged as the IPv4 address. */
		__builtin_memcpy(search->v4.addr, (const __u8 *)search->v6.halves + 12, sizeof(search->v4.addr));
	}
	return found4(&search->v4);
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	union search search;
	__u8 protocol;
	bool pass = admitted(skb, &search, &protocol);

	/* One return through the counters and the log: their code once in
	 * the program, for the verifier to check once. */
	return alf_verdict_protocol(skb, alf_socket_protocol ? alf_socket_protocol : protocol, pass ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
