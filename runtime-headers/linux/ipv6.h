/* IPv6 header and the generic extension header. */
#ifndef _LINUX_IPV6_H
#define _LINUX_IPV6_H

#include <linux/types.h>
#include <linux/in6.h>

#define IPV6_MIN_MTU 1280 /* every IPv6 link carries packets this large */

/* An IPv6 header; extension headers may follow before the payload. */
struct ipv6hdr {
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u8 priority : 4,
	     version : 4;
#else
	__u8 version : 4,
	     priority : 4;
#endif
	__u8 flow_lbl[3];       /* low traffic-class bits and the flow label */
	__be16 payload_len;     /* bytes after this header (extension headers included) */
	__u8 nexthdr;           /* IPPROTO_* of what follows */
	__u8 hop_limit;
	struct in6_addr saddr;  /* source address */
	struct in6_addr daddr;  /* destination address */
};

/* First two bytes of hop-by-hop, routing and destination options headers:
 * the header is (hdrlen + 1) * 8 bytes long. */
struct ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
} __attribute__((packed));

/* IPv6 fragment header. */
struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

#endif /* _LINUX_IPV6_H */
