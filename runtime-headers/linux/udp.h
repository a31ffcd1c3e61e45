/* UDP header. */
#ifndef _LINUX_UDP_H
#define _LINUX_UDP_H

#include <linux/types.h>

struct udphdr {
	__be16 source;
	__be16 dest;
	__be16 len; /* header and payload, bytes */
	__sum16 check;
};

#endif /* _LINUX_UDP_H */
