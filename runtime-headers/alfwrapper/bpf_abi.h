/* The part of the kernel's BPF ABI that a socket filter uses: the program
 * context, map types and flags, and constants passed to helpers.
 *
 * Numbers and layouts are the kernel's (they are ABI and never change); only
 * what socket filters can use is here. <linux/bpf.h> resolves to this file.
 */
#ifndef ALFWRAPPER_BPF_ABI_H
#define ALFWRAPPER_BPF_ABI_H

#include <alfwrapper/types.h>

struct bpf_flow_keys;
struct bpf_sock;

/* A pointer field that is 8 bytes wide and 8-aligned on 32- and 64-bit ABIs. */
#define ALF_BPF_CTX_PTR(type, name) \
	union {                     \
		type name;          \
		__u64 : 64;         \
	} __attribute__((aligned(8)))

/* The context of a socket filter (uapi layout). A socket filter may read len,
 * pkt_type, mark, queue_mapping, protocol, vlan_*, priority, ingress_ifindex,
 * ifindex, tc_index, cb[] (also write), hash, napi_id, gso_segs, gso_size and
 * sk. The kernel rejects a socket filter that reads tc_classid, data,
 * data_end, data_meta, family .. local_port, tstamp, wire_len, tstamp_type
 * or hwtstamp: the peer's address and port must be read from the packet
 * (see <alfwrapper/packet.h>). */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
	ALF_BPF_CTX_PTR(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	ALF_BPF_CTX_PTR(struct bpf_sock *, sk);
	__u32 gso_size;
	__u8  tstamp_type;
	__u32 : 24;
	__u64 hwtstamp;
};

_Static_assert(__builtin_offsetof(struct __sk_buff, ifindex) == 40, "__sk_buff layout");
_Static_assert(__builtin_offsetof(struct __sk_buff, data) == 76, "__sk_buff layout");
_Static_assert(__builtin_offsetof(struct __sk_buff, remote_ip4) == 92, "__sk_buff layout");
_Static_assert(__builtin_offsetof(struct __sk_buff, flow_keys) == 144, "__sk_buff layout");
_Static_assert(__builtin_offsetof(struct __sk_buff, sk) == 168, "__sk_buff layout");
_Static_assert(__builtin_offsetof(struct __sk_buff, hwtstamp) == 184, "__sk_buff layout");
_Static_assert(sizeof(struct __sk_buff) == 192, "__sk_buff layout");

/* The socket behind skb->sk (uapi layout). From a socket filter only the
 * fields common to all sockets are readable (family, src_*, dst_*, state, ...;
 * type and protocol are rejected), and on a listening socket it is the
 * listener: src_* is the local address, dst_* zero. The peer is in the packet. */
struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
	__u32 src_ip4;
	__u32 src_ip6[4];
	__u32 src_port;   /* host byte order */
	__be16 dst_port;  /* network byte order */
	__u16 : 16;
	__u32 dst_ip4;
	__u32 dst_ip6[4];
	__u32 state;
	__s32 rx_queue_mapping;
};

_Static_assert(sizeof(struct bpf_sock) == 80, "bpf_sock layout");

/* Map types (values are the kernel's enum bpf_map_type). */
enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC                = 0,
	BPF_MAP_TYPE_HASH                  = 1,
	BPF_MAP_TYPE_ARRAY                 = 2,
	BPF_MAP_TYPE_PROG_ARRAY            = 3,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY      = 4,
	BPF_MAP_TYPE_PERCPU_HASH           = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY          = 6,
	BPF_MAP_TYPE_STACK_TRACE           = 7,
	BPF_MAP_TYPE_CGROUP_ARRAY          = 8,
	BPF_MAP_TYPE_LRU_HASH              = 9,
	BPF_MAP_TYPE_LRU_PERCPU_HASH       = 10,
	BPF_MAP_TYPE_LPM_TRIE              = 11,
	BPF_MAP_TYPE_ARRAY_OF_MAPS         = 12,
	BPF_MAP_TYPE_HASH_OF_MAPS          = 13,
	BPF_MAP_TYPE_DEVMAP                = 14,
	BPF_MAP_TYPE_SOCKMAP               = 15,
	BPF_MAP_TYPE_CPUMAP                = 16,
	BPF_MAP_TYPE_XSKMAP                = 17,
	BPF_MAP_TYPE_SOCKHASH              = 18,
	BPF_MAP_TYPE_CGROUP_STORAGE        = 19,
	BPF_MAP_TYPE_REUSEPORT_SOCKARRAY   = 20,
	BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21,
	BPF_MAP_TYPE_QUEUE                 = 22,
	BPF_MAP_TYPE_STACK                 = 23,
	BPF_MAP_TYPE_SK_STORAGE            = 24,
	BPF_MAP_TYPE_DEVMAP_HASH           = 25,
	BPF_MAP_TYPE_STRUCT_OPS            = 26,
	BPF_MAP_TYPE_RINGBUF               = 27,
	BPF_MAP_TYPE_INODE_STORAGE         = 28,
	BPF_MAP_TYPE_TASK_STORAGE          = 29,
	BPF_MAP_TYPE_BLOOM_FILTER          = 30,
	BPF_MAP_TYPE_USER_RINGBUF          = 31,
	BPF_MAP_TYPE_CGRP_STORAGE          = 32,
	BPF_MAP_TYPE_ARENA                 = 33,
};

/* Flags of bpf_map_update_elem(). */
enum {
	BPF_ANY     = 0, /* create or update */
	BPF_NOEXIST = 1, /* create only */
	BPF_EXIST   = 2, /* update only */
	BPF_F_LOCK  = 4, /* update under the value's bpf_spin_lock */
};

/* Map creation flags (the map_flags of a BTF map definition). */
enum {
	BPF_F_NO_PREALLOC    = (1U << 0),  /* hash maps: allocate entries on demand */
	BPF_F_NO_COMMON_LRU  = (1U << 1),  /* LRU maps: one LRU list per CPU */
	BPF_F_NUMA_NODE      = (1U << 2),  /* allocate on the map's numa_node */
	BPF_F_RDONLY         = (1U << 3),  /* read-only from user space */
	BPF_F_WRONLY         = (1U << 4),  /* write-only from user space */
	BPF_F_STACK_BUILD_ID = (1U << 5),  /* stack trace maps: store build ids */
	BPF_F_ZERO_SEED      = (1U << 6),  /* hash maps: no random hash seed */
	BPF_F_RDONLY_PROG    = (1U << 7),  /* read-only from the program */
	BPF_F_WRONLY_PROG    = (1U << 8),  /* write-only from the program */
	BPF_F_CLONE          = (1U << 9),  /* storage maps: copy into a cloned socket */
	BPF_F_MMAPABLE       = (1U << 10), /* array maps: user space may mmap() */
	BPF_F_PRESERVE_ELEMS = (1U << 11), /* perf event arrays: keep entries when the fd closes */
	BPF_F_INNER_MAP      = (1U << 12), /* inner map of a map-in-map, size may vary */
};

/* Flags of bpf_perf_event_output(). */
#define BPF_F_INDEX_MASK  0xffffffffULL    /* the CPU index bits of the flags */
#define BPF_F_CURRENT_CPU BPF_F_INDEX_MASK /* the buffer of the current CPU */

/* Flags of bpf_ringbuf_output/submit/discard(). */
enum {
	BPF_RB_NO_WAKEUP    = (1ULL << 0), /* do not wake the reader */
	BPF_RB_FORCE_WAKEUP = (1ULL << 1), /* wake the reader now */
};

/* start_header of bpf_skb_load_bytes_relative(). */
enum bpf_hdr_start_off {
	BPF_HDR_START_MAC = 0, /* link-layer header (not set on every path) */
	BPF_HDR_START_NET = 1, /* IP header: the same place live and under test runs */
};

#endif /* ALFWRAPPER_BPF_ABI_H */
