/* Byte-order conversion between the CPU and the network (big-endian).
 * All of these fold to constants when given constants, so they may be used
 * in case labels and static initialisers. <bpf/bpf_endian.h> resolves here.
 */
#ifndef ALFWRAPPER_ENDIAN_H
#define ALFWRAPPER_ENDIAN_H

#include <alfwrapper/types.h>

/* ALF_TO_BE16/32/64(x): x converted between host order and big-endian (the
 * same operation both ways); the bpf_* names below are built on them. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ALF_TO_BE16(x) __builtin_bswap16((__u16)(x)) /* see above */
#define ALF_TO_BE32(x) __builtin_bswap32((__u32)(x)) /* see above */
#define ALF_TO_BE64(x) __builtin_bswap64((__u64)(x)) /* see above */
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ALF_TO_BE16(x) ((__u16)(x)) /* see above */
#define ALF_TO_BE32(x) ((__u32)(x)) /* see above */
#define ALF_TO_BE64(x) ((__u64)(x)) /* see above */
#else
#error "unknown byte order"
#endif

/* 16-bit host order to network order. */
#define bpf_htons(x) ((__be16)ALF_TO_BE16(x))
/* 16-bit network order to host order. */
#define bpf_ntohs(x) ((__u16)ALF_TO_BE16(x))
/* 32-bit host order to network order. */
#define bpf_htonl(x) ((__be32)ALF_TO_BE32(x))
/* 32-bit network order to host order. */
#define bpf_ntohl(x) ((__u32)ALF_TO_BE32(x))
/* 16-bit host order to big-endian. */
#define bpf_cpu_to_be16(x) bpf_htons(x)
/* 16-bit big-endian to host order. */
#define bpf_be16_to_cpu(x) bpf_ntohs(x)
/* 32-bit host order to big-endian. */
#define bpf_cpu_to_be32(x) bpf_htonl(x)
/* 32-bit big-endian to host order. */
#define bpf_be32_to_cpu(x) bpf_ntohl(x)
/* 64-bit host order to big-endian. */
#define bpf_cpu_to_be64(x) ((__be64)ALF_TO_BE64(x))
/* 64-bit big-endian to host order. */
#define bpf_be64_to_cpu(x) ((__u64)ALF_TO_BE64(x))

#endif /* ALFWRAPPER_ENDIAN_H */
