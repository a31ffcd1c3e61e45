/* Address, subnet, port and interface types that the command line knows by
 * their BTF names (so `--set` can parse 10.0.0.0/8, ::1, 22, eth0 into them),
 * and tests on addresses. Keep the names and layouts: they are a contract.
 *
 * Addresses are byte arrays in network order, as they appear in packets.
 * The subnet structs have the key layout of BPF_MAP_TYPE_LPM_TRIE.
 */
#ifndef ALFWRAPPER_ADDR_H
#define ALFWRAPPER_ADDR_H

#include <alfwrapper/types.h>
#include <alfwrapper/helpers.h>
#include <alfwrapper/endian.h>

/* An IPv4 address, network order. */
struct alf_ipv4_addr {
	__u8 addr[4];
};

/* An IPv6 address, network order. */
struct alf_ipv6_addr {
	__u8 addr[16];
};

/* An IPv4 subnet: prefix length 0..32, then the address (LPM-trie key layout). */
struct alf_ipv4_subnet {
	__u32 prefixlen;
	__u8 addr[4];
};

/* An IPv6 subnet: prefix length 0..128, then the address (LPM-trie key layout). */
struct alf_ipv6_subnet {
	__u32 prefixlen;
	__u8 addr[16];
};

/* A TCP/UDP port in network order (as in the packet). */
typedef __be16 alf_port_t;

/* A network interface index (the command line accepts a name such as eth0). */
typedef __u32 alf_ifindex_t;

/* A range of ports first..last (both included), host order; set from the
 * command line as JSON, {"first":1,"last":1023}. */
struct alf_port_range {
	__u16 first;
	__u16 last;
};

/* Whether port (host order) lies in range. */
static __always_inline bool alf_port_in_range(__u16 port, const struct alf_port_range *range)
{
	return port >= range->first && port <= range->last;
}

/* 32 bits of addr starting at byte i, as a host-order number. */
static __always_inline __u32 alf_addr_word(const __u8 *addr, int i)
{
	return ((__u32)addr[i] << 24) | ((__u32)addr[i + 1] << 16) |
	       ((__u32)addr[i + 2] << 8) | (__u32)addr[i + 3];
}

/* Host-order mask with the top bits (0..32, clamped) set: no loop for the
 * verifier, and no 32-bit shift by 32 (undefined in C). */
static __always_inline __u32 alf_prefix_mask(__u32 bits)
{
	if (bits > 32)
		bits = 32;
	return (__u32)(0xffffffff00000000ULL >> bits);
}

/* Whether the first bits of a and b (host-order words) are equal. */
static __always_inline bool alf_word_prefix_equal(__u32 a, __u32 b, __u32 bits)
{
	return ((a ^ b) & alf_prefix_mask(bits)) == 0;
}

/* Whether addr lies in subnet; false if subnet->prefixlen > 32. */
static __always_inline bool alf_ipv4_in_subnet(const __u8 addr[4], const struct alf_ipv4_subnet *subnet)
{
	__u32 prefixlen = subnet->prefixlen;
	__be32 net;

	if (prefixlen > 32)
		return false;
	/* Copied from the struct, the compiler knows it is 4-aligned: one load. */
	__builtin_memcpy(&net, subnet->addr, sizeof(net));
	return alf_word_prefix_equal(alf_addr_word(addr, 0), bpf_ntohl(net), prefixlen);
}

/* An IPv6 address as four host-order words, for alf_ipv6_words_in_subnet()
 * (a filter that tries many subnets converts its address once). */
static __always_inline void alf_ipv6_words(const __u8 addr[16], __u32 words[4])
{
	words[0] = alf_addr_word(addr, 0);
	words[1] = alf_addr_word(addr, 4);
	words[2] = alf_addr_word(addr, 8);
	words[3] = alf_addr_word(addr, 12);
}

/* A 32-bit word that may be read from bytes (subnet->addr, which is 4-byte
 * aligned in its struct): one load instead of four. */
typedef __u32 __attribute__((may_alias)) alf_u32_alias;

/* Whether the address of host-order `words` (alf_ipv6_words) lies in
 * subnet; false if subnet->prefixlen > 128. Word by word, with word loads,
 * stopping at the first that differs (most subnets of a list differ in the
 * first): few values live at once, so the compiler keeps them all in
 * registers (each spilled to the stack costs a barrier where the verifier
 * guards stack stores, see alf_array_keys in <alfwrapper/helpers.h>:
 * reading the bytes one by one and all four words at once took 13 of
 * them a subnet). */
static __always_inline bool alf_ipv6_words_in_subnet(const __u32 words[4], const struct alf_ipv6_subnet *subnet)
{
	const alf_u32_alias *net = (const alf_u32_alias *)subnet->addr;
	__u32 prefixlen = subnet->prefixlen;
	__u32 i;

	if (prefixlen > 128)
		return false;
#pragma clang loop unroll(full)
	for (i = 0; i < 4; i++) {
		if (prefixlen <= 32 * i)
			break;
		if ((words[i] ^ bpf_ntohl(net[i])) & alf_prefix_mask(prefixlen - 32 * i))
			return false;
	}
	return true;
}

/* Whether the address whose two 8-byte halves are `halves`, as host-order
 * numbers (bpf_be64_to_cpu() of each), lies in subnet; false if
 * subnet->prefixlen > 128. Each half compared under its part of the
 * prefix's mask: fewer instructions and branches than
 * alf_ipv6_words_in_subnet() for the verifier to walk at every load (the
 * whitelist filter: 624 instructions processed for its program, 553 so);
 * for a filter that tries many subnets with its address converted once. */
static __always_inline bool alf_ipv6_halves_in_subnet(const __u64 halves[2], const struct alf_ipv6_subnet *subnet)
{
	const alf_u32_alias *net = (const alf_u32_alias *)subnet->addr;
	__u32 prefixlen = subnet->prefixlen;
	__u64 mask_hi, mask_lo;

	if (prefixlen > 128)
		return false;
	mask_hi = prefixlen >= 64 ? ~0ULL : prefixlen ? ~0ULL << (64 - prefixlen) : 0;
	mask_lo = prefixlen > 64 ? ~0ULL << (128 - prefixlen) : 0;
	return (((halves[0] ^ (((__u64)bpf_ntohl(net[0]) << 32) | bpf_ntohl(net[1]))) & mask_hi) |
		((halves[1] ^ (((__u64)bpf_ntohl(net[2]) << 32) | bpf_ntohl(net[3]))) & mask_lo)) == 0;
}

/* Whether addr lies in subnet; false if subnet->prefixlen > 128. */
static __always_inline bool alf_ipv6_in_subnet(const __u8 addr[16], const struct alf_ipv6_subnet *subnet)
{
	__u32 words[4];

	alf_ipv6_words(addr, words);
	return alf_ipv6_words_in_subnet(words, subnet);
}

/* Whether addr is an IPv4-mapped IPv6 address (::ffff:a.b.c.d); the IPv4
 * address is then addr + 12. */
static __always_inline bool alf_ipv6_is_v4mapped(const __u8 addr[16])
{
	return alf_addr_word(addr, 0) == 0 && alf_addr_word(addr, 4) == 0 &&
	       alf_addr_word(addr, 8) == 0x0000ffff;
}

/* Whether addr is in 127.0.0.0/8. */
static __always_inline bool alf_ipv4_is_loopback(const __u8 addr[4])
{
	return addr[0] == 127;
}

/* Whether addr is in an RFC 1918 private range: 10/8, 172.16/12, 192.168/16. */
static __always_inline bool alf_ipv4_is_private(const __u8 addr[4])
{
	return addr[0] == 10 || (addr[0] == 172 && (addr[1] & 0xf0) == 16) ||
	       (addr[0] == 192 && addr[1] == 168);
}

/* Whether addr is link-local, 169.254.0.0/16. */
static __always_inline bool alf_ipv4_is_linklocal(const __u8 addr[4])
{
	return addr[0] == 169 && addr[1] == 254;
}

/* Whether addr is ::1. */
static __always_inline bool alf_ipv6_is_loopback(const __u8 addr[16])
{
	return alf_addr_word(addr, 0) == 0 && alf_addr_word(addr, 4) == 0 &&
	       alf_addr_word(addr, 8) == 0 && alf_addr_word(addr, 12) == 1;
}

/* Whether addr is a unique local address, fc00::/7. */
static __always_inline bool alf_ipv6_is_ula(const __u8 addr[16])
{
	return (addr[0] & 0xfe) == 0xfc;
}

/* Whether addr is link-local, fe80::/10. */
static __always_inline bool alf_ipv6_is_linklocal(const __u8 addr[16])
{
	return addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;
}

/* Whether an IPv6 address, as its high and low halves in host order, is
 * loopback, unique local or link-local: ::1, fc00::/7, fe80::/10. The one
 * definition of those ranges together, for an address read straight from
 * the packet and (alf_ipv6_is_local_scope) for one in bytes. */
static __always_inline bool alf_ipv6_halves_are_local_scope(__u64 hi, __u64 lo)
{
	return (hi == 0 && lo == 1) || (hi >> 57) == (0xfc >> 1) || (hi >> 54) == (0xfe80 >> 6);
}

/* The same of an address in network order. */
static __always_inline bool alf_ipv6_is_local_scope(const __u8 addr[16])
{
	return alf_ipv6_halves_are_local_scope((__u64)alf_addr_word(addr, 0) << 32 | alf_addr_word(addr, 4),
					       (__u64)alf_addr_word(addr, 8) << 32 | alf_addr_word(addr, 12));
}

#endif /* ALFWRAPPER_ADDR_H */
