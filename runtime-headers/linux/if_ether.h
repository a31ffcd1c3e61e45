/* Ethernet header and EtherType numbers. */
#ifndef _LINUX_IF_ETHER_H
#define _LINUX_IF_ETHER_H

#include <linux/types.h>

#define ETH_ALEN      6    /* bytes in a MAC address */
#define ETH_TLEN      2    /* bytes in the EtherType field */
#define ETH_HLEN      14   /* bytes in an Ethernet header */
#define ETH_ZLEN      60   /* minimum frame length without FCS */
#define ETH_DATA_LEN  1500 /* maximum payload */
#define ETH_FRAME_LEN 1514 /* maximum frame length without FCS */
#define ETH_FCS_LEN   4    /* bytes in the frame check sequence */

#define ETH_P_LOOP    0x0060 /* Ethernet loopback packet */
#define ETH_P_IP      0x0800 /* IPv4 */
#define ETH_P_ARP     0x0806 /* ARP */
#define ETH_P_8021Q   0x8100 /* 802.1Q VLAN tag */
#define ETH_P_IPV6    0x86DD /* IPv6 */
#define ETH_P_MPLS_UC 0x8847 /* MPLS unicast */
#define ETH_P_MPLS_MC 0x8848 /* MPLS multicast */
#define ETH_P_8021AD  0x88A8 /* 802.1ad service VLAN tag */
#define ETH_P_ALL     0x0003 /* every protocol (packet sockets) */

/* An Ethernet header. Socket filters do not see it on live sockets; a
 * BPF_PROG_TEST_RUN input starts with one, which the kernel strips. */
struct ethhdr {
	unsigned char h_dest[ETH_ALEN];   /* destination MAC */
	unsigned char h_source[ETH_ALEN]; /* source MAC */
	__be16 h_proto;                   /* EtherType, network order */
} __attribute__((packed));

#endif /* _LINUX_IF_ETHER_H */
