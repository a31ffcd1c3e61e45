/* bpf_htons, bpf_ntohl, bpf_cpu_to_be64, ... for filters written in the
 * libbpf style. */
#ifndef __BPF_ENDIAN__
#define __BPF_ENDIAN__

#include <alfwrapper/endian.h>

#endif /* __BPF_ENDIAN__ */
