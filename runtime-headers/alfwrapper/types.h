/* Fixed-width and kernel-style integer types for filters.
 *
 * Filters are compiled with no system headers at all, so this file is where
 * the integer types come from. It is shared by <alfwrapper/filter.h> and by
 * <linux/types.h>, so both may be included in any order.
 */
#ifndef ALFWRAPPER_TYPES_H
#define ALFWRAPPER_TYPES_H

/* Kernel-style types, same widths and signedness as the kernel's uapi. */
#ifndef ALF_KERNEL_INT_TYPES_DEFINED
#define ALF_KERNEL_INT_TYPES_DEFINED
typedef signed char        __s8;
typedef unsigned char      __u8;
typedef signed short       __s16;
typedef unsigned short     __u16;
typedef signed int         __s32;
typedef unsigned int       __u32;
typedef signed long long   __s64;
typedef unsigned long long __u64;

/* Network (big-endian) and little-endian tagged integers: plain integers here. */
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u16 __le16;
typedef __u32 __le32;
typedef __u64 __le64;

/* Internet checksum types. */
typedef __u16 __sum16;
typedef __u32 __wsum;

/* A 64-bit integer aligned to 8 bytes on every ABI (used in uapi structs). */
typedef __u64 __attribute__((aligned(8))) __aligned_u64;
#endif

/* C99 <stdint.h> names; skipped if a real <stdint.h> already provided them. */
#if !defined(ALF_STDINT_TYPES_DEFINED) && !defined(_STDINT_H) && !defined(__CLANG_STDINT_H)
#define ALF_STDINT_TYPES_DEFINED
typedef __INT8_TYPE__    int8_t;
typedef __UINT8_TYPE__   uint8_t;
typedef __INT16_TYPE__   int16_t;
typedef __UINT16_TYPE__  uint16_t;
typedef __INT32_TYPE__   int32_t;
typedef __UINT32_TYPE__  uint32_t;
typedef __INT64_TYPE__   int64_t;
typedef __UINT64_TYPE__  uint64_t;
typedef __INTPTR_TYPE__  intptr_t;
typedef __UINTPTR_TYPE__ uintptr_t;
#endif

/* <stddef.h> names. */
#if !defined(ALF_STDDEF_TYPES_DEFINED) && !defined(__CLANG_STDDEF_H) && !defined(_STDDEF_H)
#define ALF_STDDEF_TYPES_DEFINED
typedef __SIZE_TYPE__    size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
#endif
#ifndef NULL
#define NULL ((void *)0) /* the null pointer */
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member) /* byte offset of member in type */
#endif

/* <stdbool.h> names, for C only. */
#if !defined(__cplusplus) && !defined(__bool_true_false_are_defined)
#define __bool_true_false_are_defined 1
#define bool  _Bool /* a boolean */
#define true  1     /* boolean true */
#define false 0     /* boolean false */
#endif

/* Bit-field order of the target, as the kernel's byte-order headers name it;
 * the packet header structs use it. */
#if !defined(__LITTLE_ENDIAN_BITFIELD) && !defined(__BIG_ENDIAN_BITFIELD)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __LITTLE_ENDIAN_BITFIELD
#else
#define __BIG_ENDIAN_BITFIELD
#endif
#endif

#endif /* ALFWRAPPER_TYPES_H */
