/* The BPF ABI a socket filter uses (struct __sk_buff, map types, flags), for
 * filters written in the libbpf style. */
#ifndef _UAPI__LINUX_BPF_H__
#define _UAPI__LINUX_BPF_H__

#include <linux/types.h>
#include <alfwrapper/bpf_abi.h>

#endif /* _UAPI__LINUX_BPF_H__ */
