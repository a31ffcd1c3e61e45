/* TCP header. */
#ifndef _LINUX_TCP_H
#define _LINUX_TCP_H

#include <linux/types.h>

/* A TCP header (options follow when doff > 5). */
struct tcphdr {
	__be16 source;   /* source port */
	__be16 dest;     /* destination port */
	__be32 seq;      /* sequence number */
	__be32 ack_seq;  /* acknowledgement number */
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u16 res1 : 4,
	      doff : 4,   /* header length in 32-bit words */
	      fin : 1,
	      syn : 1,
	      rst : 1,
	      psh : 1,
	      ack : 1,
	      urg : 1,
	      ece : 1,
	      cwr : 1;
#else
	__u16 doff : 4,
	      res1 : 4,
	      cwr : 1,
	      ece : 1,
	      urg : 1,
	      ack : 1,
	      psh : 1,
	      rst : 1,
	      syn : 1,
	      fin : 1;
#endif
	__be16 window;   /* receive window */
	__sum16 check;   /* checksum */
	__be16 urg_ptr;  /* urgent pointer */
};

#endif /* _LINUX_TCP_H */
