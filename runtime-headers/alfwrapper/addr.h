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

/* Whether addr lies in subnet; false if subnet->prefixlen > 128. Compares four
 * masked 32-bit words, a fixed amount of work whatever the prefix length. */
static __always_inline bool alf_ipv6_in_subnet(const __u8 addr[16], const struct alf_ipv6_subnet *subnet)
{
	__u32 prefixlen = subnet->prefixlen;
	__be32 net[4];
	__u32 differ = 0;

	if (prefixlen > 128)
		return false;
	__builtin_memcpy(net, subnet->addr, sizeof(net));
	differ |= (alf_addr_word(addr, 0) ^ bpf_ntohl(net[0])) & alf_prefix_mask(prefixlen);
	differ |= (alf_addr_word(addr, 4) ^ bpf_ntohl(net[1])) &
		  alf_prefix_mask(prefixlen > 32 ? prefixlen - 32 : 0);
	differ |= (alf_addr_word(addr, 8) ^ bpf_ntohl(net[2])) &
		  alf_prefix_mask(prefixlen > 64 ? prefixlen - 64 : 0);
	differ |= (alf_addr_word(addr, 12) ^ bpf_ntohl(net[3])) &
		  alf_prefix_mask(prefixlen > 96 ? prefixlen - 96 : 0);
	return differ == 0;
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

#endif /* ALFWRAPPER_ADDR_H */
