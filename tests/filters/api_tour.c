/* Uses every public macro, type and function of the runtime headers once, so
 * that tests can compile it under -Wall -Wextra -Wpedantic -Werror and load it
 * through the verifier. Not a useful filter: it admits everything it parses. */
#include <alfwrapper/filter.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/types.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct alf_addr_key);
	__type(value, __u64);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct alf_ipv6_subnet);
	__type(value, __u8);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} nets6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct alf_port_range);
	__uint(max_entries, 2);
} ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, alf_ifindex_t);
	__uint(max_entries, 1);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, alf_port_t);
	__uint(max_entries, 1);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int(struct __sk_buff *));
} jump SEC(".maps");

struct counter {
	__u64 packets;
};

static long count_one(void *map, const void *key, void *value, void *ctx)
{
	(void)map;
	(void)key;
	(void)value;
	++*(__u32 *)ctx;
	return 0;
}

static long add_index(__u64 index, void *ctx)
{
	*(__u64 *)ctx += index;
	return 0;
}

static __noinline int decide(const struct alf_packet *p)
{
	return p->family ? ALF_PASS : ALF_DROP;
}

SEC("socket")
int next_stage(struct __sk_buff *skb)
{
	return skb->len ? ALF_PASS : ALF_DROP;
}

SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct alf_packet p;
	struct alf_addr_key key;
	struct alf_ipv4_subnet net4 = {.prefixlen = 8, .addr = {10, 0, 0, 0}};
	struct alf_ipv6_subnet net6 = {.prefixlen = 128};
	struct alf_ipv4_addr a4 = {.addr = {127, 0, 0, 1}};
	struct alf_ipv6_addr a6 = {.addr = {[15] = 1}};
	struct iphdr iph;
	struct ipv6hdr ip6h;
	struct tcphdr tcph;
	struct udphdr udph;
	struct ethhdr eth = {.h_proto = bpf_htons(ETH_P_IP)};
	struct in6_addr in6 = {0};
	struct sockaddr_in sin = {.sin_port = bpf_htons(80), .sin_addr = {.s_addr = bpf_htonl(INADDR_LOOPBACK)}};
	struct sockaddr_in6 sin6 = {.sin6_port = bpf_htons(443)};
	struct counter c = {0};
	const struct alf_port_range *range;
	const alf_ifindex_t *ifindex;
	const alf_port_t *port;
	__u32 zero = 0, elements = 0;
	__u64 sum = 0, now;
	__u8 byte;
	int score = 0;

	if (alf_packet_parse(skb, &p) < 0)
		return ALF_DROP;

	now = bpf_ktime_get_ns() + bpf_ktime_get_boot_ns() + bpf_ktime_get_coarse_ns();
	c.packets = now + bpf_get_prandom_u32() + bpf_get_smp_processor_id() + bpf_get_socket_cookie(skb) +
		    bpf_get_socket_uid(skb);
	if (alf_packet_source_key(&p, 24, 64, &key))
		bpf_map_update_elem(&seen, &key, &c.packets, BPF_ANY);
	bpf_map_delete_elem(&seen, &key);
	if (bpf_map_lookup_elem(&nets6, &net6))
		score++;

	range = bpf_map_lookup_elem(&ranges, &zero);
	if (range && alf_port_in_range(p.sport, range))
		score++;
	ifindex = bpf_map_lookup_elem(&ifaces, &zero);
	if (ifindex && *ifindex == p.ifindex)
		score++;
	port = bpf_map_lookup_elem(&ports, &zero);
	if (port && bpf_ntohs(*port) == p.dport)
		score++;

	if (alf_load_net(skb, 0, &iph, sizeof(iph)) == 0 && iph.version == IPVERSION && iph.ihl >= 5 &&
	    iph.protocol == IPPROTO_TCP && !(bpf_ntohs(iph.frag_off) & (IP_MF | IP_OFFSET)) &&
	    IPTOS_TOS(iph.tos) == 0 && alf_load_net(skb, iph.ihl * 4, &tcph, sizeof(tcph)) == 0 && tcph.syn)
		score++;
	if (alf_load_net(skb, 0, &ip6h, sizeof(ip6h)) == 0 && ip6h.version == 6 && ip6h.nexthdr == IPPROTO_UDP &&
	    alf_load_net(skb, sizeof(ip6h), &udph, sizeof(udph)) == 0 && bpf_ntohs(udph.dest) == 53)
		score++;
	if (bpf_skb_load_bytes(skb, 0, &byte, 1) == 0 && byte)
		score++;
	if (alf_ipv4_in_subnet(p.saddr, &net4) || alf_ipv6_in_subnet(p.saddr, &net6))
		score++;
	if (alf_ipv4_is_loopback(a4.addr) && alf_ipv6_is_loopback(a6.addr) && !alf_ipv6_is_v4mapped(a6.addr) &&
	    !alf_ipv4_is_private(a4.addr) && !alf_ipv4_is_linklocal(a4.addr) && !alf_ipv6_is_ula(a6.addr) &&
	    !alf_ipv6_is_linklocal(a6.addr) && !alf_ipv4_is_local_scope(p.saddr))
		score++;
	if (alf_is_private_source(&p) && alf_packet_is_new_flow(&p) && alf_packet_ipv4_source(&p))
		score++;
	if (alf_word_prefix_equal(alf_addr_word(p.saddr, 0), 0, 0) && in6.s6_addr[0] == 0 && in6.s6_addr16[1] == 0 &&
	    in6.s6_addr32[1] == 0 && sin.sin_port != sin6.sin6_port && eth.h_proto == bpf_cpu_to_be16(ETH_P_IP))
		score++;
	if (bpf_be16_to_cpu(bpf_cpu_to_be16(1)) == 1 && bpf_be32_to_cpu(bpf_cpu_to_be32(2)) == 2 &&
	    bpf_be64_to_cpu(bpf_cpu_to_be64(3)) == 3 && bpf_ntohl(bpf_htonl(4)) == 4)
		score++;
	{
		union alf_source_room room;
		struct alf_transport t;
		__u8 protocol, nexthdr = ALF_IPPROTO_TCP;
		__u32 l4 = 40;

		if (alf_source_read_skb(skb, &room, &t) == 0 && alf_transport_is_new_flow(&t)) {
			alf_source_cut(&room.key, 24, 64);
			if (bpf_map_lookup_elem(&seen, &room.key))
				score++;
		}
		if (alf_transport_skb(skb, &t) == 0 && alf_protocol_has_ports(t.protocol) && t.dport)
			score++;
		if (alf_transport_offset_skb(skb, &protocol) > 0 && alf_transport_read(skb, 20, protocol, &t) == 0 &&
		    alf_is_new_flow(t.protocol, t.tcp_flags))
			score++;
		if (alf_ipv6_skip_ext_headers(skb, &nexthdr, &l4) == 0 && alf_ipv4_transport_offset(p.saddr) >= 0)
			score++;
		if (alf_is_private_source_skb(skb, &protocol) || alf_ipv6_is_local_scope(p.saddr) ||
		    alf_ipv6_halves_are_local_scope(0, 1))
			score++;
	}
	switch (p.protocol) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		score++;
		break;
	default:
		break;
	}

	bpf_for_each_map_elem(&seen, count_one, &elements, 0);
	bpf_loop(4, add_index, &sum, 0);
	barrier();
	barrier_var(score);
	bpf_ringbuf_output(&events, &p, sizeof(p), BPF_RB_NO_WAKEUP);
	{
		struct alf_packet *slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);

		if (slot) {
			*slot = p;
			if (score > 100)
				bpf_ringbuf_discard(slot, 0);
			else
				bpf_ringbuf_submit(slot, BPF_RB_FORCE_WAKEUP);
		}
	}
	bpf_perf_event_output(skb, &perf, BPF_F_CURRENT_CPU, &p, sizeof(p));
	if (score > 1000)
		bpf_printk("score %d, %u elements, sum %llu", score, elements, sum);
	if (score > 2000)
		bpf_tail_call(skb, &jump, 0);
	return decide(&p);
}

ALF_LICENSE("Dual BSD/GPL");
