/* IP protocol numbers and IPv4 address types. */
#ifndef _LINUX_IN_H
#define _LINUX_IN_H

#include <linux/types.h>

enum {
	IPPROTO_IP      = 0,
	IPPROTO_ICMP    = 1,
	IPPROTO_IGMP    = 2,
	IPPROTO_IPIP    = 4,
	IPPROTO_TCP     = 6,
	IPPROTO_EGP     = 8,
	IPPROTO_PUP     = 12,
	IPPROTO_UDP     = 17,
	IPPROTO_IDP     = 22,
	IPPROTO_TP      = 29,
	IPPROTO_DCCP    = 33,
	IPPROTO_IPV6    = 41,
	IPPROTO_RSVP    = 46,
	IPPROTO_GRE     = 47,
	IPPROTO_ESP     = 50,
	IPPROTO_AH      = 51,
	IPPROTO_MTP     = 92,
	IPPROTO_BEETPH  = 94,
	IPPROTO_ENCAP   = 98,
	IPPROTO_PIM     = 103,
	IPPROTO_COMP    = 108,
	IPPROTO_L2TP    = 115,
	IPPROTO_SCTP    = 132,
	IPPROTO_UDPLITE = 136,
	IPPROTO_MPLS    = 137,
	IPPROTO_ETHERNET = 143,
	IPPROTO_RAW     = 255,
	IPPROTO_MPTCP   = 262,
	IPPROTO_MAX
};
/* The names are macros too, so `#ifdef IPPROTO_TCP` works as with the kernel's header. */
#define IPPROTO_IP      IPPROTO_IP
#define IPPROTO_ICMP    IPPROTO_ICMP
#define IPPROTO_IGMP    IPPROTO_IGMP
#define IPPROTO_IPIP    IPPROTO_IPIP
#define IPPROTO_TCP     IPPROTO_TCP
#define IPPROTO_EGP     IPPROTO_EGP
#define IPPROTO_PUP     IPPROTO_PUP
#define IPPROTO_UDP     IPPROTO_UDP
#define IPPROTO_IDP     IPPROTO_IDP
#define IPPROTO_TP      IPPROTO_TP
#define IPPROTO_DCCP    IPPROTO_DCCP
#define IPPROTO_IPV6    IPPROTO_IPV6
#define IPPROTO_RSVP    IPPROTO_RSVP
#define IPPROTO_GRE     IPPROTO_GRE
#define IPPROTO_ESP     IPPROTO_ESP
#define IPPROTO_AH      IPPROTO_AH
#define IPPROTO_MTP     IPPROTO_MTP
#define IPPROTO_BEETPH  IPPROTO_BEETPH
#define IPPROTO_ENCAP   IPPROTO_ENCAP
#define IPPROTO_PIM     IPPROTO_PIM
#define IPPROTO_COMP    IPPROTO_COMP
#define IPPROTO_L2TP    IPPROTO_L2TP
#define IPPROTO_SCTP    IPPROTO_SCTP
#define IPPROTO_UDPLITE IPPROTO_UDPLITE
#define IPPROTO_MPLS    IPPROTO_MPLS
#define IPPROTO_ETHERNET IPPROTO_ETHERNET
#define IPPROTO_RAW     IPPROTO_RAW
#define IPPROTO_MPTCP   IPPROTO_MPTCP
#define IPPROTO_MAX     IPPROTO_MAX

/* An IPv4 address, network order. */
struct in_addr {
	__be32 s_addr;
};

typedef unsigned short __kernel_sa_family_t;

/* An IPv4 socket address. */
struct sockaddr_in {
	__kernel_sa_family_t sin_family; /* AF_INET */
	__be16 sin_port;                  /* network order */
	struct in_addr sin_addr;
	unsigned char __pad[8];
};

#define INADDR_ANY       ((__u32)0x00000000) /* host order */
#define INADDR_BROADCAST ((__u32)0xffffffff)
#define INADDR_NONE      ((__u32)0xffffffff)
#define INADDR_LOOPBACK  ((__u32)0x7f000001)

#define IN_LOOPBACKNET 127

#endif /* _LINUX_IN_H */
