/* Section and BTF map declaration macros, and the kernel helpers a socket
 * filter may call. <bpf/bpf_helpers.h> resolves to this file.
 *
 * Maps are declared the libbpf way, described by BTF:
 *
 *     struct {
 *         __uint(type, BPF_MAP_TYPE_HASH);
 *         __type(key, __u32);
 *         __type(value, struct alf_ipv4_subnet);
 *         __uint(max_entries, 64);
 *     } mymap SEC(".maps");
 */
#ifndef ALFWRAPPER_HELPERS_H
#define ALFWRAPPER_HELPERS_H

#include <alfwrapper/types.h>
#include <alfwrapper/bpf_abi.h>

/* Put a program, map or the license into the ELF section the loader looks in. */
#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

/* Inline into the caller: BPF-to-BPF calls work, but inlining keeps stack
 * pointers and constant sizes visible to the verifier. */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
/* Keep as a separate BPF function (e.g. a bpf_loop/for_each callback). */
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
/* A weak symbol: another definition of the same name takes precedence. */
#ifndef __weak
#define __weak __attribute__((weak))
#endif
/* Not visible outside the object. */
#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif

/* BTF map definition field holding the integer val (type, max_entries, map_flags, ...). */
#define __uint(name, val) int (*name)[val]
/* BTF map definition field naming a type (key, value). */
#define __type(name, val) __typeof__(val) *name
/* BTF map definition field for the inner maps of a map-in-map or prog array. */
#define __array(name, val) __typeof__(val) *name[]
/* BTF map definition field holding an unsigned long val (e.g. map_extra). */
#define __ulong(name, val) enum { ___alf_ulong_##name = val } name

/* Values of the pinning field of a BTF map definition. */
enum libbpf_pin_type {
	LIBBPF_PIN_NONE = 0,
	LIBBPF_PIN_BY_NAME = 1, /* pin under the loader's pin root by map name */
};

/* Declare the program's license; use it once per filter. */
#define ALF_LICENSE(text) char LICENSE[] SEC("license") = text

/* Compiler barrier: stop the compiler from moving memory accesses across it. */
#ifndef barrier
#define barrier() __asm__ __volatile__("" ::: "memory")
#endif
/* Make the compiler forget what it knows about var (e.g. a bound it proved). */
#ifndef barrier_var
#define barrier_var(var) __asm__ __volatile__("" : "+r"(var))
#endif

/* Declare kernel helper `name` with its ABI id: calls through the pointer
 * compile to `call id`. (An integer-to-function-pointer cast, so that
 * -Wpedantic stays quiet.) */
#define ALF_HELPER(id, ret, name, params) static ret (* const name) params = (ret (*) params)(id)

/* Keys 0..255 of array maps, in the filter's read-only data, for lookups
 * whose key is a constant or an index (alf_array_key(i)): a key written to
 * the stack first is a store there, and loaded with CAP_BPF alone (a
 * delegated alfwrapper: no CAP_PERFMON), the verifier follows every store
 * to a stack slot not yet written, or holding a spilled register, with a
 * barrier against speculative store bypass (Spectre v4), about 5 ns a
 * packet each (bench/RESULTS.md). A key read from here needs no store.
 * Under root both cost the same. */
#define ALF_KEYS4_(n) (n), (n) + 1, (n) + 2, (n) + 3
#define ALF_KEYS16_(n) ALF_KEYS4_(n), ALF_KEYS4_((n) + 4), ALF_KEYS4_((n) + 8), ALF_KEYS4_((n) + 12)
#define ALF_KEYS64_(n) ALF_KEYS16_(n), ALF_KEYS16_((n) + 16), ALF_KEYS16_((n) + 32), ALF_KEYS16_((n) + 48)
const volatile __u32 alf_array_keys[256] = {ALF_KEYS64_(0), ALF_KEYS64_(64), ALF_KEYS64_(128), ALF_KEYS64_(192)};

/* A pointer to key i (i & 255) for bpf_map_lookup_elem() of an array map. */
static __always_inline const void *alf_array_key(__u32 i)
{
	return (const void *)&alf_array_keys[i & 255];
}

/* Kernel helpers, called through their fixed ABI ids. */

/* Pointer to the value stored under key, or NULL. */
ALF_HELPER(1, void *, bpf_map_lookup_elem, (void *map, const void *key));
/* Store value under key; flags BPF_ANY, BPF_NOEXIST or BPF_EXIST. 0 or -errno. */
ALF_HELPER(2, long, bpf_map_update_elem, (void *map, const void *key, const void *value, __u64 flags));
/* Remove key. 0 or -errno. */
ALF_HELPER(3, long, bpf_map_delete_elem, (void *map, const void *key));
/* Monotonic clock in ns, not counting suspend. */
ALF_HELPER(5, __u64, bpf_ktime_get_ns, (void));
/* Print to the trace pipe (at most 3 arguments); needs CAP_PERFMON. For debugging only. */
ALF_HELPER(6, long, bpf_trace_printk, (const char *fmt, __u32 fmt_size, ...));
/* Pseudo-random number (not for cryptography). */
ALF_HELPER(7, __u32, bpf_get_prandom_u32, (void));
/* The CPU the program runs on. */
ALF_HELPER(8, __u32, bpf_get_smp_processor_id, (void));
/* Jump to program index of a BPF_MAP_TYPE_PROG_ARRAY; returns only if there is none. */
ALF_HELPER(12, long, bpf_tail_call, (void *ctx, void *prog_array_map, __u32 index));
/* Send size bytes of data to a BPF_MAP_TYPE_PERF_EVENT_ARRAY (flags: BPF_F_CURRENT_CPU). */
ALF_HELPER(25, long, bpf_perf_event_output, (void *ctx, void *map, __u64 flags, void *data, __u64 size));
/* Copy len bytes at offset from skb->data. skb->data moves (transport header
 * live, IP header under test runs): prefer bpf_skb_load_bytes_relative(). */
ALF_HELPER(26, long, bpf_skb_load_bytes, (const void *skb, __u32 offset, void *to, __u32 len));
/* A 64-bit id of the socket the packet is for, stable for the socket's life. */
ALF_HELPER(46, __u64, bpf_get_socket_cookie, (void *ctx));
/* Owner uid of the packet's socket (overflowuid if none). */
ALF_HELPER(47, __u32, bpf_get_socket_uid, (struct __sk_buff *skb));
/* Copy len bytes at offset from the header chosen by start_header
 * (BPF_HDR_START_NET: the IP header). 0, or -EFAULT and to zeroed. */
ALF_HELPER(68, long, bpf_skb_load_bytes_relative, (const void *skb, __u32 offset, void *to, __u32 len, __u32 start_header));
/* The kernel's tick counter: inlined by the verifier, nearly free. Ticks a
 * second depend on the kernel (CONFIG_HZ). */
ALF_HELPER(118, __u64, bpf_jiffies64, (void));
/* Monotonic clock in ns, counting suspend. */
ALF_HELPER(125, __u64, bpf_ktime_get_boot_ns, (void));
/* Copy size bytes of data into a BPF_MAP_TYPE_RINGBUF. 0 or -errno. */
ALF_HELPER(130, long, bpf_ringbuf_output, (void *ringbuf, void *data, __u64 size, __u64 flags));
/* Reserve size bytes (a constant) in a ring buffer; NULL if full. Submit or discard it. */
ALF_HELPER(131, void *, bpf_ringbuf_reserve, (void *ringbuf, __u64 size, __u64 flags));
/* Publish a reservation of bpf_ringbuf_reserve(). */
ALF_HELPER(132, void, bpf_ringbuf_submit, (void *data, __u64 flags));
/* Drop a reservation of bpf_ringbuf_reserve(). */
ALF_HELPER(133, void, bpf_ringbuf_discard, (void *data, __u64 flags));
/* Monotonic clock in ns, coarse (cheaper, tick resolution). */
ALF_HELPER(160, __u64, bpf_ktime_get_coarse_ns, (void));
/* Call callback_fn(map, key, value, callback_ctx) for each element; the
 * callback returns 0 to go on, 1 to stop. Returns the number of calls.
 * On a hash map it walks every bucket, full or not (measured: 17 us a packet
 * at 1024 entries): keep it off the per-packet path; prefer direct lookups,
 * or bpf_loop() over an array that stops at the first empty slot. */
ALF_HELPER(164, long, bpf_for_each_map_elem, (void *map, void *callback_fn, void *callback_ctx, __u64 flags));
/* Call callback_fn(index, callback_ctx) nr_loops times (0 go on, 1 stop). Returns the number of calls. */
ALF_HELPER(181, long, bpf_loop, (__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags));

/* printf-style trace to /sys/kernel/tracing/trace_pipe (at most 3 arguments). */
#ifndef bpf_printk
#define bpf_printk(fmt, ...)                                                   \
	({                                                                     \
		char ___alf_fmt[] = fmt;                                       \
		bpf_trace_printk(___alf_fmt, sizeof(___alf_fmt), ##__VA_ARGS__); \
	})
#endif

#endif /* ALFWRAPPER_HELPERS_H */
