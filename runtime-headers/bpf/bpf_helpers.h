/* SEC, BTF map macros (__uint, __type, __array) and the helpers a socket
 * filter may call, for filters written in the libbpf style. */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

#include <alfwrapper/helpers.h>

#endif /* __BPF_HELPERS__ */
