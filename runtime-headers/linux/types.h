/* __u8..__u64, __be16/32/64, __wsum and friends for code written against the
 * kernel's uapi headers. */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

#include <alfwrapper/types.h>

#endif /* _LINUX_TYPES_H */
