/* Verdicts and a parsed view of the packet a socket filter is judging.
 *
 * Why the view exists: a socket filter cannot read the peer's address or
 * port from struct __sk_buff (the kernel rejects the program), and where
 * skb->data points differs: at the transport header on a live TCP/UDP
 * socket, at the IP header under BPF_PROG_TEST_RUN. Everything here is read
 * relative to the IP header (BPF_HDR_START_NET), which is the same in both.
 * (A test run's input starts with a 14-byte Ethernet header that the kernel
 * strips; the IP header follows it.)
 * A dual-stack IPv6 socket sees IPv4 clients as IPv4 packets (family
 * ALF_AF_INET), not as IPv4-mapped IPv6 addresses.
 */
#ifndef ALFWRAPPER_PACKET_H
#define ALFWRAPPER_PACKET_H

#include <alfwrapper/types.h>
#include <alfwrapper/bpf_abi.h>
#include <alfwrapper/helpers.h>
#include <alfwrapper/addr.h>

/* Keep the whole packet. The kernel reads the return value as an unsigned
 * byte count: 0 drops, n < skb->len trims the packet to n bytes (TCP: never
 * below its header), so all bits set keeps everything. */
#define ALF_PASS ((int)-1)
/* Drop the packet (for TCP, a dropped SYN leaves the client retrying). */
#define ALF_DROP 0

/* Address families of struct alf_packet (the kernel's AF_INET, AF_INET6). */
#define ALF_AF_INET  2  /* IPv4 */
#define ALF_AF_INET6 10 /* IPv6 */

/* IP protocol numbers (the kernel's IPPROTO_*). */
#define ALF_IPPROTO_HOPOPTS  0   /* IPv6 hop-by-hop options header */
#define ALF_IPPROTO_ICMP     1   /* ICMP */
#define ALF_IPPROTO_TCP      6   /* TCP */
#define ALF_IPPROTO_UDP      17  /* UDP */
#define ALF_IPPROTO_ROUTING  43  /* IPv6 routing header */
#define ALF_IPPROTO_FRAGMENT 44  /* IPv6 fragment header (not skipped: ports stay 0) */
#define ALF_IPPROTO_ICMPV6   58  /* ICMPv6 */
#define ALF_IPPROTO_DSTOPTS  60  /* IPv6 destination options header */
#define ALF_IPPROTO_SCTP     132 /* SCTP */
#define ALF_IPPROTO_UDPLITE  136 /* UDP-Lite */

/* TCP flag bits of struct alf_packet's tcp_flags. */
#define ALF_TCP_FIN 0x01 /* no more data from the sender */
#define ALF_TCP_SYN 0x02 /* opens a connection (with ACK: the answer to one) */
#define ALF_TCP_RST 0x04 /* resets the connection */
#define ALF_TCP_PSH 0x08 /* push the data to the application */
#define ALF_TCP_ACK 0x10 /* the acknowledgement number is valid */
#define ALF_TCP_URG 0x20 /* the urgent pointer is valid */
#define ALF_TCP_ECE 0x40 /* ECN echo */
#define ALF_TCP_CWR 0x80 /* congestion window reduced */

/* The transport protocol of every socket the filter is attached to
 * (ALF_IPPROTO_TCP, _UDP, ...), set by alfwrapper when they all have one;
 * 0 when they differ or are not known (alfctl test): then the helpers that
 * count by protocol read it from each packet. A socket receives its own
 * protocol only, so a filter that knows it saves a load a packet. */
ALF_GLOBAL const volatile __u8 alf_socket_protocol ALF_INITIAL(0);

/* How many IPv6 extension headers alf_packet_parse() skips at most. */
#define ALF_IPV6_EXT_HEADERS_MAX 4

/* A source network of either family as a hash-map key: the family
 * (ALF_AF_INET or ALF_AF_INET6), then the address cut to a prefix (IPv4 in
 * the first 4 bytes, the rest zero). */
struct alf_addr_key {
	__u32 family;
	__u8  addr[16];
};

/* What a filter usually needs to know about a packet. */
struct alf_packet {
	__u8  family;     /* ALF_AF_INET or ALF_AF_INET6, 0 if unknown */
	__u8  protocol;   /* transport protocol (ALF_IPPROTO_TCP, _UDP, ...) after IPv6 extension headers */
	__u8  tcp_flags;  /* ALF_TCP_* bits; 0 for non-TCP */
	__u8  _pad;
	__u16 sport;      /* source port, host order; 0 without ports */
	__u16 dport;      /* destination port, host order; 0 without ports */
	__u32 ifindex;    /* interface the packet arrived on (skb->ifindex) */
	__u32 len;        /* bytes in the IP packet, its header included (see alf_packet_parse) */
	__u8  saddr[16];  /* source address, network order; IPv4 uses the first 4 bytes */
	__u8  daddr[16];  /* destination address, network order; IPv4 uses the first 4 bytes */
};

/* 1 when the verifier guards the filter's stack stores (see
 * alf_array_keys in <alfwrapper/helpers.h>): set by the loader (alfwrapper,
 * alfctl) when it loads without CAP_PERFMON, e.g. a delegated alfwrapper. */
ALF_GLOBAL const volatile __u8 alf_stack_stores_guarded ALF_INITIAL(0);

/* Zero len (a constant) bytes of the filter's stack at `to`. Where the
 * verifier guards stack stores, by a helper call that writes them: a
 * helper's writes take no barrier, and the slots it wrote then take none
 * for later stores of 4 bytes or fewer (a packet parse went from 80 to 29
 * ns; under root 29 ns with stores). The call asks for bytes relative to a
 * header that does not exist, which fails after zeroing `to` (a helper
 * that writes the stack writes it on every path: the verifier counts it
 * as written). Elsewhere by stores, a few ns cheaper than the call. */
static __always_inline void alf_stack_zero(struct __sk_buff *skb, void *to, __u32 len)
{
	if (alf_stack_stores_guarded)
		bpf_skb_load_bytes_relative(skb, 0, to, len, BPF_HDR_START_NET + 1);
	else
		__builtin_memset(to, 0, len);
}

/* A pointer to the __u32 key i for a map lookup (of any map with __u32
 * keys): one of the read-only keys (alf_array_key) where the verifier
 * guards stack stores and i < 256, else i written to *spare. */
static __always_inline const void *alf_index_key(__u32 i, __u32 *spare)
{
	if (alf_stack_stores_guarded && i < 256) {
		barrier_var(i); /* keeps alf_array_key's mask, the verifier's bound */
		return alf_array_key(i);
	}
	*spare = i;
	return spare;
}

/* Copy len (a constant) bytes at offset from the IP header; 0 or <0. */
static __always_inline long alf_load_net(struct __sk_buff *skb, __u32 offset, void *to, __u32 len)
{
	return bpf_skb_load_bytes_relative(skb, offset, to, len, BPF_HDR_START_NET);
}

/* The legacy packet load (BPF_LD | BPF_ABS | BPF_W): a 32-bit word, in host
 * order, at an offset that may be relative to the network header
 * (ALF_NET_OFFSET + n). One cheap kernel call, where bpf_skb_load_bytes_relative
 * costs two (measured: ~10 ns against ~20 ns a packet). If the packet is too
 * short the program ends, returning 0 (drop). It needs the socket buffer:
 * in the program's function, or a BPF function passed it (both load with
 * BPF function calls elsewhere in the filter, on Linux 6.18); a bpf_loop
 * callback has none. */
unsigned long long alf_ld_abs_word(void *skb, unsigned long long offset) __asm__("llvm.bpf.load.word");
#define ALF_NET_OFFSET (-0x100000)

/* ETH_P_IP and ETH_P_IPV6 as struct __sk_buff's protocol holds them. */
#define ALF_SKB_PROTOCOL_IPV4 bpf_htons(0x0800)
#define ALF_SKB_PROTOCOL_IPV6 bpf_htons(0x86dd)

/* The legacy byte load (BPF_LD | BPF_ABS | BPF_B), as alf_ld_abs_word(). */
unsigned long long alf_ld_abs_byte(void *skb, unsigned long long offset) __asm__("llvm.bpf.load.byte");

/* The IP header's protocol byte, for alf_verdict_protocol() of
 * <alfwrapper/stats.h>: alf_socket_protocol when alfwrapper set it, else
 * read from the packet; of an IPv4 packet, and of an IPv6 one from the
 * first bytes of its header (its next header). */
static __always_inline __u8 alf_ipv4_protocol_skb(struct __sk_buff *skb)
{
	return alf_socket_protocol ? alf_socket_protocol : (__u8)alf_ld_abs_byte(skb, ALF_NET_OFFSET + 9);
}

static __always_inline __u8 alf_ipv6_protocol_in(const __u64 header[3])
{
	return alf_socket_protocol ? alf_socket_protocol : ((const __u8 *)header)[6];
}

/* Bytes 0..23 of an IPv6 packet's header into header, and its source as
 * two host-order halves: 0, or <0 if the packet is too short. */
static __always_inline long alf_load_ipv6_source(struct __sk_buff *skb, __u64 header[3], __u64 *hi, __u64 *lo)
{
	if (alf_load_net(skb, 0, header, 3 * sizeof(__u64)) < 0)
		return -1;
	*hi = bpf_be64_to_cpu(header[1]);
	*lo = bpf_be64_to_cpu(header[2]);
	return 0;
}

/* Whether an IPv6 next-header value is an extension header alf_packet_parse() skips. */
static __always_inline bool alf_ipv6_is_skipped_ext(__u8 nexthdr)
{
	return nexthdr == ALF_IPPROTO_HOPOPTS || nexthdr == ALF_IPPROTO_ROUTING ||
	       nexthdr == ALF_IPPROTO_DSTOPTS;
}

/* Skips the IPv6 extension headers alf_packet_parse() skips (at most
 * ALF_IPV6_EXT_HEADERS_MAX), starting at the one *nexthdr names, at offset
 * *l4 from the IP header: leaves in them the transport protocol and the
 * offset of its header. 0, or <0 if the packet ends inside one. */
static __always_inline long alf_ipv6_skip_ext_headers(struct __sk_buff *skb, __u8 *nexthdr, __u32 *l4)
{
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < ALF_IPV6_EXT_HEADERS_MAX; i++) {
		__u8 ext[2];

		if (!alf_ipv6_is_skipped_ext(*nexthdr))
			break;
		if (alf_load_net(skb, *l4, ext, sizeof(ext)) < 0)
			return -1;
		*nexthdr = ext[0];
		*l4 += ((__u32)ext[1] + 1) * 8;
	}
	return 0;
}

/* Whether the transport header of protocol starts with the source and
 * destination ports (what alf_packet_parse() reads ports of). */
static __always_inline bool alf_protocol_has_ports(__u8 protocol)
{
	return protocol == ALF_IPPROTO_TCP || protocol == ALF_IPPROTO_UDP || protocol == ALF_IPPROTO_UDPLITE ||
	       protocol == ALF_IPPROTO_SCTP;
}

/* Of an IPv4 header's first 8 bytes: the offset of the transport header
 * (the header's length, 20 or more), 0 for a fragment after the first
 * (no transport header), <0 for a header length under 20 bytes. */
static __always_inline long alf_ipv4_transport_offset(const __u8 ip[8])
{
	__u32 l4 = (__u32)(ip[0] & 0x0f) * 4;

	if (l4 < 20)
		return -1;
	return ((ip[6] & 0x1f) | ip[7]) != 0 ? 0 : l4;
}

/* Where the transport header starts, read straight from the packet for a
 * filter that needs the transport header and not the addresses: nothing
 * is parsed into struct alf_packet, so nothing is zeroed or stored on the
 * stack (a delegated alfwrapper's verifier guards such stores). Returns
 * the header's offset from the IP header, with *protocol the transport
 * protocol after the IPv6 extension headers alf_packet_parse() skips; 0
 * for a fragment after the first, which has no transport header
 * (*protocol set all the same); <0 if the packet is neither IPv4 nor IPv6
 * or is cut inside its IP header (*protocol 0). The family comes from the
 * version nibble, as in alf_packet_parse(). The transport header itself
 * may be cut short: a load of it then fails. One helper call, one more
 * for each IPv6 extension header. */
static __always_inline long alf_transport_offset_skb(struct __sk_buff *skb, __u8 *protocol)
{
	__u8 ip[20]; /* written by the helper: no stack store */

	*protocol = 0;
	if (alf_load_net(skb, 0, ip, sizeof(ip)) < 0)
		return -1;
	if ((ip[0] >> 4) == 4) {
		long l4 = alf_ipv4_transport_offset(ip);

		if (l4 >= 0)
			*protocol = ip[9];
		return l4;
	}
	if ((ip[0] >> 4) == 6) {
		__u8 nexthdr = ip[6];
		__u32 l4 = 40;

		if (alf_ipv6_skip_ext_headers(skb, &nexthdr, &l4) < 0)
			return -1;
		*protocol = nexthdr;
		return l4;
	}
	return -1;
}

/* A packet's transport protocol, ports and TCP flags: what
 * alf_packet_parse() puts in the same fields of struct alf_packet. Filled
 * by alf_transport_read() on the filter's stack, where it first loads the
 * transport header's bytes (hence the room), then rewrites them in place:
 * a store into bytes a helper wrote takes no barrier where a delegated
 * alfwrapper's verifier guards stack stores, and the fields stay in
 * memory, not in registers a filter would keep through its helper calls
 * (spilling them to the stack, stores the verifier guards too). */
struct alf_transport {
	__u8  protocol;  /* transport protocol (ALF_IPPROTO_TCP, _UDP, ...) after IPv6 extension headers */
	__u8  tcp_flags; /* ALF_TCP_* bits; 0 for non-TCP */
	__u16 sport;     /* source port, host order; 0 without ports */
	__u16 dport;     /* destination port, host order; 0 without ports */
	__u8  _room[10]; /* the rest of the loaded header */
} __attribute__((aligned(8))); /* the load fills the fields' 8-byte stack slot */

/* Fill t from the transport header at offset l4 from the IP header (0: a
 * fragment after the first, which has none) of a packet whose transport
 * protocol is `protocol`: 0, or <0 if the packet ends inside the part of
 * the header read (TCP: 14 bytes, up to its flags; UDP, UDP-Lite, SCTP: 8
 * bytes, the UDP header; a live socket receives no shorter one). */
static __always_inline long alf_transport_read(struct __sk_buff *skb, __u32 l4, __u8 protocol,
					       struct alf_transport *t)
{
	const __u8 *raw = (const __u8 *)t;
	__u16 sport, dport;
	__u8 flags = 0;

	if (l4 != 0 && protocol == ALF_IPPROTO_TCP) {
		if (alf_load_net(skb, l4, t, 14) != 0)
			return -1;
		flags = raw[13];
	} else if (l4 != 0 && alf_protocol_has_ports(protocol)) {
		if (alf_load_net(skb, l4, t, 8) != 0)
			return -1;
	} else {
		alf_stack_zero(skb, t, sizeof(*t));
		t->protocol = protocol;
		return 0;
	}
	sport = (__u16)((raw[0] << 8) | raw[1]);
	dport = (__u16)((raw[2] << 8) | raw[3]);
	t->protocol = protocol;
	t->tcp_flags = flags;
	t->sport = sport;
	t->dport = dport;
	return 0;
}

/* The packet's transport protocol, ports and TCP flags into t, read
 * straight from the packet (alf_transport_offset_skb(), then
 * alf_transport_read()) for a filter that needs no more of it: one helper
 * call fewer than alf_packet_parse() and nothing zeroed, for the built-in
 * ports filter. 0 (ports 0 where the packet has none: a protocol without
 * them, a fragment after the first), or <0 if the packet is neither IPv4
 * nor IPv6 or is cut short (where alf_packet_parse() fails). */
static __always_inline long alf_transport_skb(struct __sk_buff *skb, struct alf_transport *t)
{
	__u8 protocol;
	long l4 = alf_transport_offset_skb(skb, &protocol);

	if (l4 < 0)
		return -1;
	return alf_transport_read(skb, (__u32)l4, protocol, t);
}

/* Fill p, zeroed (see alf_packet_parse() below), from the packet: 0 on
 * success, <0 if it is not IPv4/IPv6 or too short. The family comes from
 * the version nibble of the IP header (the socket's family says nothing: a
 * dual-stack IPv6 socket gets IPv4 packets).
 * Ports and TCP flags stay 0 for fragments after the first and for
 * protocols without ports. The length comes from the IP header, not from
 * skb->len, which counts from the transport header on a live socket but from
 * the IP header under a test run. (GRO aggregates past 64 KiB, "BIG TCP",
 * carry 0 in the length field: len is then 0 for IPv4, 40 for IPv6.) */
static __always_inline int alf_packet_parse_zeroed(struct __sk_buff *skb, struct alf_packet *p)
{
	__u8 ip[20] __attribute__((aligned(4))); /* lets the address copies be word moves */
	__u32 l4 = 0;

	p->ifindex = skb->ifindex;

	/* 20 bytes: all of an IPv4 header's fixed part, and as many of an
	 * IPv6 header's 40, in one load (each load is a helper call). */
	if (alf_load_net(skb, 0, ip, sizeof(ip)) < 0)
		return -1;

	if ((ip[0] >> 4) == 4) {
		long offset = alf_ipv4_transport_offset(ip);

		if (offset < 0)
			return -1;
		p->family = ALF_AF_INET;
		p->protocol = ip[9];
		p->len = ((__u32)ip[2] << 8) | ip[3];
		__builtin_memcpy(p->saddr, ip + 12, 4);
		__builtin_memcpy(p->daddr, ip + 16, 4);
		/* A fragment after the first carries no transport header. */
		if (offset == 0)
			return 0;
		l4 = (__u32)offset;
	} else if ((ip[0] >> 4) == 6) {
		__u8 nexthdr = ip[6];

		/* Both addresses by one load: daddr follows saddr in struct alf_packet. */
		_Static_assert(__builtin_offsetof(struct alf_packet, daddr) ==
				       __builtin_offsetof(struct alf_packet, saddr) + 16,
			       "the addresses are contiguous");
		if (alf_load_net(skb, 8, p->saddr, 32) < 0)
			return -1;
		p->family = ALF_AF_INET6;
		p->len = (((__u32)ip[4] << 8) | ip[5]) + 40;
		l4 = 40;
		if (alf_ipv6_skip_ext_headers(skb, &nexthdr, &l4) < 0)
			return -1;
		p->protocol = nexthdr;
	} else {
		return -1;
	}

	/* Ports and flags (p holds zeros where the packet has none). */
	if (l4 != 0 && alf_protocol_has_ports(p->protocol)) {
		struct alf_transport t;

		if (alf_transport_read(skb, l4, p->protocol, &t) < 0)
			return -1;
		p->sport = t.sport;
		p->dport = t.dport;
		p->tcp_flags = t.tcp_flags;
	}
	return 0;
}

/* alf_packet_parse_zeroed() above is the parse of a p the caller has zeroed
 * with alf_stack_zero(): a filter that zeroes locals of its own too zeroes
 * them and p by one call (a struct holding both), where the verifier
 * guards stack stores. This is the parse of any p. */
static __always_inline int alf_packet_parse(struct __sk_buff *skb, struct alf_packet *p)
{
	alf_stack_zero(skb, p, sizeof(*p));
	return alf_packet_parse_zeroed(skb, p);
}

/* The IPv4 source of p, also when it arrived IPv4-mapped in IPv6; NULL if none. */
static __always_inline const __u8 *alf_packet_ipv4_source(const struct alf_packet *p)
{
	if (p->family == ALF_AF_INET)
		return p->saddr;
	if (p->family == ALF_AF_INET6 && alf_ipv6_is_v4mapped(p->saddr))
		return p->saddr + 12;
	return NULL;
}

/* Whether a packet opens a flow: a TCP SYN without ACK (a connection
 * attempt) or any UDP/UDP-Lite datagram. Other TCP segments belong to
 * connections the kernel already accepted; filters that judge only new
 * flows never cut those. */
static __always_inline bool alf_is_new_flow(__u8 protocol, __u8 tcp_flags)
{
	if (protocol == ALF_IPPROTO_TCP)
		return (tcp_flags & (ALF_TCP_SYN | ALF_TCP_ACK)) == ALF_TCP_SYN;
	return protocol == ALF_IPPROTO_UDP || protocol == ALF_IPPROTO_UDPLITE;
}

static __always_inline bool alf_packet_is_new_flow(const struct alf_packet *p)
{
	return alf_is_new_flow(p->protocol, p->tcp_flags);
}

/* The same of a packet read by alf_source_read_skb(). */
static __always_inline bool alf_transport_is_new_flow(const struct alf_transport *t)
{
	return alf_is_new_flow(t->protocol, t->tcp_flags);
}

/* Fill key with an address of `words` 32-bit words (1: IPv4, 4: IPv6) at
 * addr (4-byte aligned, network order) cut to prefix bits: the family, then
 * every word of key->addr stored once (the words past the address or the
 * prefix zero), as whole words. */
static __always_inline void alf_fill_source_key(struct alf_addr_key *key, __u32 family, const __u8 *addr,
						__u32 words, __u32 prefix)
{
	const alf_u32_alias *in = (const alf_u32_alias *)addr;
	alf_u32_alias *out = (alf_u32_alias *)key->addr;
	__u32 i;

	key->family = family;
#pragma clang loop unroll(full)
	for (i = 0; i < 4; i++)
		out[i] = i < words && prefix > 32 * i ? in[i] & bpf_htonl(alf_prefix_mask(prefix - 32 * i)) : 0;
}

/* Fill key with p's source cut to prefix4 bits (IPv4, IPv4-mapped included)
 * or prefix6 bits (IPv6); false if p has no IP source. */
static __always_inline bool alf_packet_source_key(const struct alf_packet *p, __u32 prefix4, __u32 prefix6,
						  struct alf_addr_key *key)
{
	const __u8 *v4 = alf_packet_ipv4_source(p);

	if (v4)
		alf_fill_source_key(key, ALF_AF_INET, v4, 1, prefix4);
	else if (p->family == ALF_AF_INET6)
		alf_fill_source_key(key, ALF_AF_INET6, p->saddr, 4, prefix6);
	else
		return false;
	return true;
}

/* Where alf_source_read_skb() builds a source key: the key and the 4
 * bytes after it, 8-byte aligned, so that its load fills whole stack slots
 * (the verifier guards a store into a slot a helper wrote only in part). */
union alf_source_room {
	struct alf_addr_key key;
	__u8 bytes[24];
} __attribute__((aligned(8)));

/* The packet's source in room->key, and its transport header into t, read
 * straight from the packet for a filter that needs no more of it: the IP
 * header is loaded into the room, by the helper call that reads it, and
 * the key is then rewritten in place by word stores. Nothing is zeroed,
 * and a delegated alfwrapper's verifier guards no store. An IPv4-mapped
 * IPv6 source becomes its IPv4 address, as in alf_packet_source_key(). The key
 * is whole after alf_source_cut() (IPv4 words after the first are still
 * the packet's till then). 0, or <0 if the packet is neither IPv4 nor IPv6
 * (by skb->protocol) or is cut short (where alf_packet_parse() fails, and
 * an IPv4 packet of its header alone). Two helper calls (one for a
 * fragment after the first, one more for each IPv6 extension header). */
static __always_inline long alf_source_read_skb(struct __sk_buff *skb, union alf_source_room *room,
						struct alf_transport *t)
{
	const __u8 *header = room->bytes;
	alf_u32_alias *word = (alf_u32_alias *)room->key.addr;
	__u8 protocol;
	__u32 l4;

	_Static_assert(sizeof(room->key) == 20, "a key holds an IPv4 header's fixed part");
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		long offset;

		/* The fixed header and 4 bytes more: the source lands in word[2]. */
		if (alf_load_net(skb, 0, room, sizeof(*room)) != 0)
			return -1;
		offset = alf_ipv4_transport_offset(header);
		if (offset < 0)
			return -1;
		l4 = (__u32)offset;
		protocol = header[9];
		room->key.family = ALF_AF_INET;
		word[0] = word[2];
	} else if (skb->protocol == ALF_SKB_PROTOCOL_IPV6) {
		/* Payload length, next header and hop limit, the source, and 4
		 * bytes of the destination. */
		if (alf_load_net(skb, 4, room, sizeof(*room)) != 0)
			return -1;
		protocol = header[2];
		if (alf_ipv6_is_v4mapped(room->key.addr)) {
			room->key.family = ALF_AF_INET;
			word[0] = word[3];
		} else {
			room->key.family = ALF_AF_INET6;
		}
		l4 = 40;
		if (alf_ipv6_skip_ext_headers(skb, &protocol, &l4) < 0)
			return -1;
	} else {
		return -1;
	}
	return alf_transport_read(skb, l4, protocol, t);
}

/* Finish a key alf_source_read_skb() filled, cut to prefix4 bits (IPv4)
 * or prefix6 bits (IPv6), in place: the key alf_packet_source_key() builds
 * (32 and 128: the whole address). Apart from the read, so that a filter
 * can look the prefixes up after the read's helper calls rather than keep
 * them through them. Each word is stored once, by a 4-byte store: a wider
 * one would make the verifier guard later stores to its slot. */
static __always_inline void alf_source_cut(struct alf_addr_key *key, __u32 prefix4, __u32 prefix6)
{
	volatile alf_u32_alias *word = (volatile alf_u32_alias *)key->addr;
	__u32 i;

	if (key->family == ALF_AF_INET) {
		word[0] &= bpf_htonl(alf_prefix_mask(prefix4));
		word[1] = 0;
		word[2] = 0;
		word[3] = 0;
		return;
	}
#pragma clang loop unroll(full)
	for (i = 0; i < 4; i++)
		word[i] &= prefix6 > 32 * i ? bpf_htonl(alf_prefix_mask(prefix6 - 32 * i)) : 0;
}

/* Whether an IPv4 address (host order) is loopback, RFC 1918 or link-local. */
static __always_inline bool alf_ipv4_word_is_local_scope(__u32 a)
{
	return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
	       (a >> 16) == 0xa9fe;
}

/* The same of an address in network order: one definition of the ranges
 * for both forms. */
static __always_inline bool alf_ipv4_is_local_scope(const __u8 addr[4])
{
	return alf_ipv4_word_is_local_scope(alf_addr_word(addr, 0));
}

/* Whether p comes from a loopback, private or link-local source: 127/8, 10/8,
 * 172.16/12, 192.168/16, 169.254/16, ::1, fc00::/7, fe80::/10, and the
 * IPv4-mapped IPv6 forms of the IPv4 ones. */
static __always_inline bool alf_is_private_source(const struct alf_packet *p)
{
	const __u8 *v4 = alf_packet_ipv4_source(p);

	if (v4)
		return alf_ipv4_is_local_scope(v4);
	if (p->family == ALF_AF_INET6)
		return alf_ipv6_is_local_scope(p->saddr);
	return false;
}

/* alf_is_private_source() read straight from the packet, without
 * alf_packet_parse(): the family from skb->protocol, the source by one
 * load (alf_ld_abs_word() for IPv4, one helper call for IPv6), no store
 * to the stack (none for a delegated alfwrapper's verifier to guard, no
 * zeroing). False for packets neither IPv4 nor IPv6 and for truncated
 * IPv6 ones (a truncated IPv4 header ends the program: alf_ld_abs_word).
 * With `protocol` (not NULL), also stores the IP header's protocol byte
 * there (IPv6: its next header), for alf_verdict_protocol(), as
 * alf_rules_decide_skb_protocol() does. It reads with alf_ld_abs_word():
 * not from a bpf_loop callback, which has no socket buffer. */
static __always_inline bool alf_is_private_source_skb(struct __sk_buff *skb, __u8 *protocol)
{
	if (protocol)
		*protocol = 0;
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		__u32 source = (__u32)alf_ld_abs_word(skb, ALF_NET_OFFSET + 12);

		if (protocol)
			*protocol = alf_ipv4_protocol_skb(skb);
		return alf_ipv4_word_is_local_scope(source);
	}
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV6) {
		__u64 header[3], hi, lo;

		if (alf_load_ipv6_source(skb, header, &hi, &lo) < 0)
			return false;
		if (protocol)
			*protocol = alf_ipv6_protocol_in(header);
		if (hi == 0 && (lo >> 32) == 0xffff) /* IPv4-mapped */
			return alf_ipv4_word_is_local_scope((__u32)lo);
		return alf_ipv6_halves_are_local_scope(hi, lo);
	}
	return false;
}

#endif /* ALFWRAPPER_PACKET_H */
