/* IPv4 header. */
#ifndef _LINUX_IP_H
#define _LINUX_IP_H

#include <linux/types.h>

#define IPVERSION 4                             /* the version field of an IPv4 header */
#define IPTOS_TOS_MASK 0x1E                     /* type-of-service bits of the tos field */
#define IPTOS_TOS(tos) ((tos) & IPTOS_TOS_MASK) /* the type-of-service bits of tos */

/* Bits of frag_off (after bpf_ntohs). */
#define IP_CE      0x8000 /* congestion */
#define IP_DF      0x4000 /* don't fragment */
#define IP_MF      0x2000 /* more fragments */
#define IP_OFFSET  0x1FFF /* fragment offset, in 8-byte units */

/* An IPv4 header (without options). */
struct iphdr {
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u8 ihl : 4,     /* header length in 32-bit words */
	     version : 4;
#else
	__u8 version : 4,
	     ihl : 4;
#endif
	__u8 tos;         /* DSCP and ECN */
	__be16 tot_len;   /* header and payload, bytes */
	__be16 id;        /* fragment identification */
	__be16 frag_off;  /* flags and fragment offset (IP_DF, IP_MF, IP_OFFSET) */
	__u8 ttl;
	__u8 protocol;    /* IPPROTO_* of the payload */
	__sum16 check;    /* header checksum */
	__be32 saddr;     /* source address */
	__be32 daddr;     /* destination address */
	/* options follow when ihl > 5 */
};

#endif /* _LINUX_IP_H */
