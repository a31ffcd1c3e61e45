/* IPv4 header. */
#ifndef _LINUX_IP_H
#define _LINUX_IP_H

#include <linux/types.h>

#define IPVERSION 4
#define IPTOS_TOS_MASK 0x1E
#define IPTOS_TOS(tos) ((tos) & IPTOS_TOS_MASK)

/* Bits of frag_off (after bpf_ntohs). */
#define IP_CE      0x8000 /* congestion */
#define IP_DF      0x4000 /* don't fragment */
#define IP_MF      0x2000 /* more fragments */
#define IP_OFFSET  0x1FFF /* fragment offset, in 8-byte units */

struct iphdr {
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u8 ihl : 4,     /* header length in 32-bit words */
	     version : 4;
#else
	__u8 version : 4,
	     ihl : 4;
#endif
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
	/* options follow when ihl > 5 */
};

#endif /* _LINUX_IP_H */
