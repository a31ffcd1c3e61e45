/* UDP header. */
#ifndef _LINUX_UDP_H
#define _LINUX_UDP_H

#include <linux/types.h>

/* A UDP header. */
struct udphdr {
	__be16 source;  /* source port */
	__be16 dest;    /* destination port */
	__be16 len;     /* header and payload, bytes */
	__sum16 check;  /* checksum (0: none, IPv4 only) */
};

#endif /* _LINUX_UDP_H */
