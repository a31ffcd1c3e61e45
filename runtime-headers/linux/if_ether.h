/* Ethernet header and EtherType numbers. */
#ifndef _LINUX_IF_ETHER_H
#define _LINUX_IF_ETHER_H

#include <linux/types.h>

#define ETH_ALEN     6    /* bytes in a MAC address */
#define ETH_TLEN     2    /* bytes in the EtherType field */
#define ETH_HLEN     14   /* bytes in an Ethernet header */
#define ETH_ZLEN     60   /* minimum frame length without FCS */
#define ETH_DATA_LEN 1500 /* maximum payload */
#define ETH_FRAME_LEN 1514
#define ETH_FCS_LEN  4

#define ETH_P_LOOP     0x0060
#define ETH_P_IP       0x0800
#define ETH_P_ARP      0x0806
#define ETH_P_8021Q    0x8100
#define ETH_P_IPV6     0x86DD
#define ETH_P_MPLS_UC  0x8847
#define ETH_P_MPLS_MC  0x8848
#define ETH_P_8021AD   0x88A8
#define ETH_P_ALL      0x0003

struct ethhdr {
	unsigned char h_dest[ETH_ALEN];
	unsigned char h_source[ETH_ALEN];
	__be16 h_proto; /* EtherType, network order */
} __attribute__((packed));

#endif /* _LINUX_IF_ETHER_H */
