/* IPv6 address type and the IPv6 extension header protocol numbers. */
#ifndef _LINUX_IN6_H
#define _LINUX_IN6_H

#include <linux/types.h>

/* An IPv6 address, network order, viewable as bytes, 16-bit or 32-bit words. */
struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
#define s6_addr   in6_u.u6_addr8  /* the address as 16 bytes */
#define s6_addr16 in6_u.u6_addr16 /* the address as 8 network-order 16-bit words */
#define s6_addr32 in6_u.u6_addr32 /* the address as 4 network-order 32-bit words */
};

/* An IPv6 socket address. */
struct sockaddr_in6 {
	unsigned short sin6_family; /* AF_INET6 */
	__be16 sin6_port;           /* network order */
	__be32 sin6_flowinfo;
	struct in6_addr sin6_addr;
	__u32 sin6_scope_id;
};

#define IPPROTO_HOPOPTS  0   /* hop-by-hop options */
#define IPPROTO_ROUTING  43  /* routing header */
#define IPPROTO_FRAGMENT 44  /* fragment header */
#define IPPROTO_ICMPV6   58  /* ICMPv6 */
#define IPPROTO_NONE     59  /* no next header */
#define IPPROTO_DSTOPTS  60  /* destination options */
#define IPPROTO_MH       135 /* mobility header */

#endif /* _LINUX_IN6_H */
