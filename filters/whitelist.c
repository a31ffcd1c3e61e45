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

struct search_ipv4 {
	__u8 addr[4];
	bool found;
};

struct search_ipv6 {
	__u32 words[4]; /* the source, converted once for every subnet (alf_ipv6_words) */
	bool found;
};

/* bpf_loop callback: 1 (stop) at the first missing index or a subnet holding the address.
 * bpf_loop keeps the verifier's work independent of the number of entries. */
static long search_allow4(__u64 index, struct search_ipv4 *search)
{
	__u32 key;
	const struct alf_ipv4_subnet *subnet = bpf_map_lookup_elem(&allow4, alf_index_key((__u32)index, &key));

	if (!subnet)
		return 1;
	if (!alf_ipv4_in_subnet(search->addr, subnet))
		return 0;
	/* Stored once, when found: a store repeated at each entry would be
	 * one the verifier guards with a barrier (a delegated alfwrapper). */
	search->found = true;
	return 1;
}

static long search_allow6(__u64 index, struct search_ipv6 *search)
{
	__u32 key;
	const struct alf_ipv6_subnet *subnet = bpf_map_lookup_elem(&allow6, alf_index_key((__u32)index, &key));

	if (!subnet)
		return 1;
	if (!alf_ipv6_words_in_subnet(search->words, subnet))
		return 0;
	search->found = true;
	return 1;
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	/* The packet and the search, zeroed by one call (a helper's, where a
	 * delegated alfwrapper's verifier guards stack stores). */
	struct {
		struct alf_packet packet;
		union {
			struct search_ipv4 v4;
			struct search_ipv6 v6;
		} search;
	} frame;
	const __u8 *ipv4_source;

	alf_stack_zero(skb, &frame, sizeof(frame));
	if (alf_packet_parse_zeroed(skb, &frame.packet) < 0)
		return alf_verdict_skb(skb, ALF_DROP);

	ipv4_source = alf_packet_ipv4_source(&frame.packet);
	if (ipv4_source) {
		__builtin_memcpy(frame.search.v4.addr, ipv4_source, sizeof(frame.search.v4.addr));
		bpf_loop(WHITELIST_MAX_ENTRIES, search_allow4, &frame.search.v4, 0);
		return alf_verdict(skb, &frame.packet, frame.search.v4.found ? ALF_PASS : ALF_DROP);
	}
	if (frame.packet.family == ALF_AF_INET6) {
		alf_ipv6_words(frame.packet.saddr, frame.search.v6.words);
		bpf_loop(WHITELIST_MAX_ENTRIES, search_allow6, &frame.search.v6, 0);
		return alf_verdict(skb, &frame.packet, frame.search.v6.found ? ALF_PASS : ALF_DROP);
	}
	return alf_verdict(skb, &frame.packet, ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
