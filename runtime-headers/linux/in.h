/* IP protocol numbers and IPv4 address types. */
#ifndef _LINUX_IN_H
#define _LINUX_IN_H

#include <linux/types.h>

/* IP protocol numbers (the protocol field of IPv4, next header of IPv6). */
enum {
	IPPROTO_IP      = 0, /* no particular protocol (socket level) */
	IPPROTO_ICMP    = 1, /* Internet Control Message Protocol */
	IPPROTO_IGMP    = 2, /* Internet Group Management Protocol */
	IPPROTO_IPIP    = 4, /* IPv4 in IPv4 tunnels */
	IPPROTO_TCP     = 6, /* Transmission Control Protocol */
	IPPROTO_EGP     = 8, /* Exterior Gateway Protocol */
	IPPROTO_PUP     = 12, /* PUP */
	IPPROTO_UDP     = 17, /* User Datagram Protocol */
	IPPROTO_IDP     = 22, /* XNS IDP */
	IPPROTO_TP      = 29, /* ISO transport class 4 */
	IPPROTO_DCCP    = 33, /* Datagram Congestion Control Protocol */
	IPPROTO_IPV6    = 41, /* IPv6 in IPv4 tunnels */
	IPPROTO_RSVP    = 46, /* RSVP */
	IPPROTO_GRE     = 47, /* Generic Routing Encapsulation */
	IPPROTO_ESP     = 50, /* IPsec Encapsulating Security Payload */
	IPPROTO_AH      = 51, /* IPsec Authentication Header */
	IPPROTO_MTP     = 92, /* Multicast Transport Protocol */
	IPPROTO_BEETPH  = 94, /* IP option pseudo header for BEET */
	IPPROTO_ENCAP   = 98, /* encapsulation header */
	IPPROTO_PIM     = 103, /* Protocol Independent Multicast */
	IPPROTO_COMP    = 108, /* IP payload compression */
	IPPROTO_L2TP    = 115, /* Layer 2 Tunnelling Protocol v3 */
	IPPROTO_SCTP    = 132, /* Stream Control Transmission Protocol */
	IPPROTO_UDPLITE = 136, /* UDP-Lite */
	IPPROTO_MPLS    = 137, /* MPLS in IP */
	IPPROTO_ETHERNET = 143, /* Ethernet in IP */
	IPPROTO_RAW     = 255, /* raw IP packets */
	IPPROTO_MPTCP   = 262, /* Multipath TCP (socket level only) */
	IPPROTO_MAX /* one past the largest */
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

/* An address family number (AF_INET, AF_INET6, ...). */
typedef unsigned short __kernel_sa_family_t;

/* An IPv4 socket address. */
struct sockaddr_in {
	__kernel_sa_family_t sin_family; /* AF_INET */
	__be16 sin_port;                  /* network order */
	struct in_addr sin_addr;
	unsigned char __pad[8];
};

#define INADDR_ANY       ((__u32)0x00000000) /* 0.0.0.0, host order */
#define INADDR_BROADCAST ((__u32)0xffffffff) /* 255.255.255.255, host order */
#define INADDR_NONE      ((__u32)0xffffffff) /* "no address", host order */
#define INADDR_LOOPBACK  ((__u32)0x7f000001) /* 127.0.0.1, host order */

#define IN_LOOPBACKNET 127 /* the loopback network, 127.0.0.0/8 */

#endif /* _LINUX_IN_H */
