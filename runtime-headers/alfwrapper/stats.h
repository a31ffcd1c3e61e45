/* Counters and the drop log: what `alfctl stats` and `alfctl log` show of a
 * running filter. A filter opts in by returning its verdict through
 * alf_verdict() (or alf_verdict_skb() where it has not parsed the packet):
 *
 *     #include <alfwrapper/filter.h>
 *     #include <alfwrapper/stats.h>
 *
 *     SEC("socket") int filter(struct __sk_buff *skb)
 *     {
 *         struct alf_packet p;
 *
 *         if (alf_packet_parse(skb, &p) < 0)
 *             return alf_verdict_skb(skb, ALF_DROP);
 *         return alf_verdict(skb, &p, alf_is_private_source(&p) ? ALF_PASS : ALF_DROP);
 *     }
 *
 * Counters: packets and bytes passed and dropped, per family (IPv4, IPv6,
 * other) and transport protocol (TCP, UDP, other), in a per-CPU array, so
 * counting takes no lock and no atomic instruction (bench/RESULTS.md has
 * the cost). Bytes are skb->len: on a live socket the transport segment
 * (header and payload), not the IP header.
 *
 * Drop log: each dropped packet is written, while the rate allows, into a
 * ring of recent events per CPU that `alfctl log` reads (the oldest are
 * overwritten; nothing waits for a reader). The rate is a budget of events
 * a second, spread over the CPUs (alfwrapper --log-rate, default 100; 0
 * turns the log off and its cost with it: the verifier drops the code).
 * Drops beyond the budget are counted as suppressed.
 *
 * The count uses skb->cb[0] and skb->cb[1] as scratch (alf_skb_opaque()):
 * a filter that keeps values of its own there reads them before its
 * verdict.
 */
#ifndef ALFWRAPPER_STATS_H
#define ALFWRAPPER_STATS_H

#include <alfwrapper/types.h>
#include <alfwrapper/bpf_abi.h>
#include <alfwrapper/helpers.h>
#include <alfwrapper/packet.h>

/* One counter: packets and their bytes. */
struct alf_counter {
	__u64 packets;
	__u64 bytes;
};

/* alf_stats's keys: ((family * 3) + protocol) * 2 + dropped for the packet
 * counters, then the log's own. */
#define ALF_STATS_IPV4 0
#define ALF_STATS_IPV6 1
#define ALF_STATS_OTHER_FAMILY 2
#define ALF_STATS_TCP 0
#define ALF_STATS_UDP 1
#define ALF_STATS_OTHER_PROTOCOL 2
#define ALF_STATS_PACKET_KEYS 18
#define ALF_STATS_LOGGED 18     /* drops written into the log */
#define ALF_STATS_SUPPRESSED 19 /* drops over the log's rate */
#define ALF_STATS_KEYS 20

ALF_GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct alf_counter);
	__uint(max_entries, ALF_STATS_KEYS);
} alf_stats ALF_MAP_SECTION;

/* Bytes of a packet's headers an event keeps where the filter has not
 * parsed the packet: enough for the ports behind an IPv4 header of any
 * length (60 bytes at most), or behind an IPv6 header and 28 bytes of
 * extension headers. */
#define ALF_LOG_HEADER_BYTES 72

/* One logged drop. Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns);
 * seq counts the CPU's events from 1 (0: an empty slot).
 * A packet the filter parsed (alf_verdict()) is logged as parsed: family
 * ALF_AF_INET or ALF_AF_INET6, addresses in network order (IPv4 in the
 * first 4 bytes), ports in host order. One it did not parse
 * (alf_verdict_protocol(), alf_verdict_skb()) is logged as it arrived, the
 * parse left to the reader (alfctl log), which costs the filter no parse
 * to verify at load: family 0, and header[] holds the packet's first
 * header_len bytes from its IP header on (0: not even an IP header could
 * be read). */
struct alf_log_event {
	__u64 seq;
	__u64 time_ns;
	__u8 verdict;    /* ALF_PASS or ALF_DROP */
	__u8 family;     /* ALF_AF_INET, ALF_AF_INET6, 0 when not parsed */
	__u8 protocol;   /* ALF_IPPROTO_*, when parsed */
	__u8 header_len; /* when not parsed: the bytes of header[] read */
	__u16 sport;
	__u16 dport;
	union {
		struct {
			__u8 saddr[16];
			__u8 daddr[16];
		};
		__u8 header[ALF_LOG_HEADER_BYTES];
	};
};

/* Events kept per CPU (a power of two). */
#define ALF_LOG_SLOTS 256

/* Each CPU's events: one value of the per-CPU array, which the kernel
 * allocates at once (an array of ALF_LOG_SLOTS values would take an
 * allocation each, at every start of the service). */
struct alf_log_ring {
	struct alf_log_event events[ALF_LOG_SLOTS];
};

ALF_GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct alf_log_ring);
	__uint(max_entries, 1);
} alf_log ALF_MAP_SECTION;

/* Per CPU: the rate window, the tick the clock was last read at, and the
 * next event's number. */
struct alf_log_state {
	__u64 window_start_ns;
	__u64 in_window;
	__u64 seq;
	__u64 checked_tick;
};

ALF_GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct alf_log_state);
	__uint(max_entries, 1);
} alf_log_state ALF_MAP_SECTION;

/* Events a second each CPU may log, set by alfwrapper (--log-rate spread
 * over the CPUs); 0: no log. */
ALF_GLOBAL const volatile __u32 alf_log_rate_per_cpu ALF_INITIAL(0);

/* Counts a packet of `bytes` in counter (NULL: none). */
static __always_inline void alf_counter_add(struct alf_counter *counter, __u32 bytes)
{
	if (counter) {
		counter->packets++;
		counter->bytes += bytes;
	}
}

/* Counts under a constant key (its own read-only key: no stack store). */
static __always_inline void alf_stats_add(__u32 key, __u32 bytes)
{
	alf_counter_add(bpf_map_lookup_elem(&alf_stats, alf_array_key(key)), bytes);
}

/* v, stored in the socket buffer's control block (skb->cb[slot], scratch
 * that the kernel saves and restores around a socket filter) and read back:
 * the same value, of which the verifier then knows nothing. A value the
 * verifier knows keeps apart the paths that arrive with different ones
 * (a key, a verdict that some paths leave as a constant), and it walks all
 * that follows once for each; read back, they go on as one. */
static __always_inline __u32 alf_skb_opaque(struct __sk_buff *skb, int slot, __u32 v)
{
	skb->cb[slot] = v;
	return *(volatile __u32 *)&skb->cb[slot];
}

/* Counts a packet under a key computed from it (< 32), read from
 * alf_array_keys: no stack store, which the verifier guards where it
 * guards stores (see <alfwrapper/helpers.h>). The key goes through the
 * control block (alf_skb_opaque()): a pointer moved by the key as computed
 * would make the verifier track the family, protocol and verdict behind
 * the key back along every path (read back, the library's filters verified
 * 14-57% fewer instructions at each load with the drop log off, 3-22%
 * fewer with it on: bench/RESULTS.md). Cut to 5 bits for the lookup's
 * bounds. */
static __always_inline void alf_stats_count(struct __sk_buff *skb, __u32 computed_key)
{
	struct alf_counter *counter =
		bpf_map_lookup_elem(&alf_stats, alf_array_key(alf_skb_opaque(skb, 0, computed_key) & 31));

	/* The length read after the lookup, not kept through it (a
	 * register fewer for the filter's values, which would otherwise be
	 * spilled to the stack, stores a delegated alfwrapper's verifier
	 * guards). */
	alf_counter_add(counter, skb->len);
}

/* Whether the rate lets this CPU log one more event now; counts the
 * suppressed ones. The clock (a helper call) is read once a tick: within
 * one, the window cannot have ended, so a flood over the rate costs a
 * compare and a count a packet. */
static __always_inline struct alf_log_state *alf_log_admit(void)
{
	struct alf_log_state *state = bpf_map_lookup_elem(&alf_log_state, alf_array_key(0));
	__u64 tick, now;

	if (!state)
		return 0;
	tick = bpf_jiffies64();
	if (tick != state->checked_tick) {
		state->checked_tick = tick;
		now = bpf_ktime_get_coarse_ns();
		if (now - state->window_start_ns >= 1000000000ULL) {
			state->window_start_ns = now;
			state->in_window = 0;
		}
	}
	if (state->in_window >= alf_log_rate_per_cpu) {
		alf_stats_add(ALF_STATS_SUPPRESSED, 0);
		return 0;
	}
	state->in_window++;
	return state;
}

/* The CPU's next slot, marked empty while it is rewritten (a reader skips
 * it), with the time and the verdict; NULL only if the map is missing. */
static __always_inline struct alf_log_event *alf_log_begin(struct alf_log_state *state, int verdict)
{
	struct alf_log_ring *ring = bpf_map_lookup_elem(&alf_log, alf_array_key(0));
	struct alf_log_event *event;

	if (!ring)
		return 0;
	event = &ring->events[(__u32)state->seq & (ALF_LOG_SLOTS - 1)];
	event->seq = 0;
	event->time_ns = bpf_ktime_get_ns();
	event->verdict = (__u8)verdict;
	return event;
}

/* The slot written: numbered, and counted as logged. */
static __always_inline void alf_log_end(struct alf_log_state *state, struct alf_log_event *event)
{
	event->seq = ++state->seq;
	alf_stats_add(ALF_STATS_LOGGED, 0);
}

/* A dropped packet the rate admits, into the log: BPF functions of the
 * program (not inlined), called by alf_verdict() with the parsed packet
 * and by alf_verdict_protocol() with none, so that each filter carries the
 * log's code once. The rate is checked inline before: a drop over it takes
 * no call. (Two functions, not one taking a null packet: without
 * CAP_PERFMON the verifier refuses comparing a pointer with null.)
 *
 * alfwrapper's compiler (ALF_LOG_PRECOMPILED) declares them only: they were
 * compiled when alfwrapper was built (ALF_LOG_LIBRARY, see ALF_GLOBAL in
 * <alfwrapper/helpers.h>), a fifth of a library filter's compile, and are
 * linked into the filter's object, as static functions of its program. */
#if defined(ALF_LOG_PRECOMPILED)
#define ALF_LOG_FUNCTION extern __attribute__((visibility("hidden")))
#elif defined(ALF_LOG_LIBRARY)
#define ALF_LOG_FUNCTION __noinline __attribute__((visibility("hidden")))
#else
#define ALF_LOG_FUNCTION static __noinline
#endif

ALF_LOG_FUNCTION int alf_log_record(struct alf_log_state *state, const struct alf_packet *p, int verdict);
ALF_LOG_FUNCTION int alf_log_record_unparsed(struct __sk_buff *skb, struct alf_log_state *state, int verdict);

#ifndef ALF_LOG_PRECOMPILED
ALF_LOG_FUNCTION int alf_log_record(struct alf_log_state *state, const struct alf_packet *p, int verdict)
{
	struct alf_log_event *event = alf_log_begin(state, verdict);

	if (!event)
		return 0;
	event->family = p->family;
	event->protocol = p->protocol;
	event->header_len = 0;
	event->sport = p->sport;
	event->dport = p->dport;
	__builtin_memcpy(event->saddr, p->saddr, sizeof(event->saddr));
	__builtin_memcpy(event->daddr, p->daddr, sizeof(event->daddr));
	alf_log_end(state, event);
	return 0;
}

/* A packet's headers as they arrived, where the filter has not parsed it:
 * its first ALF_LOG_HEADER_BYTES, or all of a shorter packet (a short
 * datagram's ports too). A few helper calls, on this path only. */
ALF_LOG_FUNCTION int alf_log_record_unparsed(struct __sk_buff *skb, struct alf_log_state *state, int verdict)
{
	struct alf_log_event *event = alf_log_begin(state, verdict);
	__u32 len;

	if (!event)
		return 0;
	event->family = 0;
	event->protocol = 0;
	event->sport = 0;
	event->dport = 0;
	/* A helper that cannot read as much writes zeros and fails. */
	len = alf_load_net(skb, 0, event->header, ALF_LOG_HEADER_BYTES) == 0 ? ALF_LOG_HEADER_BYTES : 0;
	if (!len && alf_load_net(skb, 0, event->header, 8) == 0) {
		/* Shorter: as long as its IP header says (the stack trims a
		 * packet to that length before any socket sees it). */
		const __u8 *ip = event->header;
		__u32 total = (ip[0] >> 4) == 4 ? ((__u32)ip[2] << 8 | ip[3]) : 40 + ((__u32)ip[4] << 8 | ip[5]);

		if (total >= 20 && total < ALF_LOG_HEADER_BYTES && alf_load_net(skb, 0, event->header, total) == 0)
			len = total;
	}
	event->header_len = (__u8)len;
	alf_log_end(state, event);
	return 0;
}
#endif /* ALF_LOG_PRECOMPILED */

static __always_inline __u32 alf_stats_key(__u32 family, __u32 protocol, int verdict)
{
	return ((family * 3) + protocol) * 2 + (verdict == ALF_DROP);
}

static __always_inline __u32 alf_stats_protocol(__u8 protocol)
{
	return protocol == ALF_IPPROTO_TCP ? ALF_STATS_TCP
	       : protocol == ALF_IPPROTO_UDP ? ALF_STATS_UDP
					     : ALF_STATS_OTHER_PROTOCOL;
}

/* Counts p (parsed by alf_packet_parse) with its verdict, logs it when it
 * is dropped and the rate allows, and returns the verdict. */
static __always_inline int alf_verdict(struct __sk_buff *skb, const struct alf_packet *p, int verdict)
{
	__u32 family = p->family == ALF_AF_INET ? ALF_STATS_IPV4
		       : p->family == ALF_AF_INET6 ? ALF_STATS_IPV6
						   : ALF_STATS_OTHER_FAMILY;

	/* The verdict as a value the verifier knows nothing of: paths that
	 * arrive with a constant one (a refusal on a short packet, an
	 * admission) go on as one through the count and the log. */
	verdict = (int)alf_skb_opaque(skb, 1, (__u32)verdict);

	alf_stats_count(skb, alf_stats_key(family, alf_stats_protocol(p->protocol), verdict));
	/* Whether it dropped, asked again: not kept through the count. */
	barrier_var(verdict);
	if (verdict == ALF_DROP && alf_log_rate_per_cpu) {
		struct alf_log_state *state = alf_log_admit();

		if (state)
			alf_log_record(state, p, verdict);
	}
	return verdict;
}

/* alf_verdict() for a filter that has not parsed the packet but knows its
 * transport protocol (the IP header's protocol byte, e.g. from
 * alf_rules_decide_skb_protocol() of <alfwrapper/rules.h>); the family
 * comes from skb->protocol. A dropped packet is logged as its headers
 * arrived, for alfctl log to parse. */
static __always_inline int alf_verdict_protocol(struct __sk_buff *skb, __u8 header_protocol, int verdict)
{
	__u32 family = skb->protocol == bpf_htons(0x0800)   ? ALF_STATS_IPV4
		       : skb->protocol == bpf_htons(0x86dd) ? ALF_STATS_IPV6
							    : ALF_STATS_OTHER_FAMILY;

	/* The verdict as a value the verifier knows nothing of: paths that
	 * arrive with a constant one (a refusal on a short packet, an
	 * admission) go on as one through the count and the log. */
	verdict = (int)alf_skb_opaque(skb, 1, (__u32)verdict);

	alf_stats_count(skb, alf_stats_key(family, alf_stats_protocol(header_protocol), verdict));
	/* Whether it dropped, asked again: not kept through the count. */
	barrier_var(verdict);
	if (verdict == ALF_DROP && alf_log_rate_per_cpu) {
		struct alf_log_state *state = alf_log_admit();

		if (state)
			alf_log_record_unparsed(skb, state, verdict);
	}
	return verdict;
}

/* alf_verdict() for a filter that has not parsed the packet at all: reads
 * the protocol byte (a helper call, ~30 ns: where a filter has parsed the
 * packet, alf_verdict() costs less). */
static __always_inline int alf_verdict_skb(struct __sk_buff *skb, int verdict)
{
	__u8 header_byte; /* written by the helper alone (zero when it fails): no stack store */
	__u8 protocol = alf_socket_protocol;

	if (!protocol && skb->protocol == bpf_htons(0x0800)) {
		bpf_skb_load_bytes_relative(skb, 9, &header_byte, 1, BPF_HDR_START_NET);
		protocol = header_byte;
	} else if (!protocol && skb->protocol == bpf_htons(0x86dd)) {
		bpf_skb_load_bytes_relative(skb, 6, &header_byte, 1, BPF_HDR_START_NET);
		protocol = header_byte;
	}
	return alf_verdict_protocol(skb, protocol, verdict);
}

/* Defines the filter's program from a function that judges a parsed packet,
 * int judge(struct alf_packet *p): every packet parsed (one that cannot be
 * is dropped), judged, counted and, when dropped, logged. */
#define ALF_FILTER_JUDGING(judge)                                        \
	SEC("socket") int filter(struct __sk_buff *skb)                  \
	{                                                                \
		struct alf_packet packet;                                \
									 \
		if (alf_packet_parse(skb, &packet) < 0)                  \
			return alf_verdict_skb(skb, ALF_DROP);           \
		return alf_verdict(skb, &packet, judge(&packet));        \
	}

/* Defines the filter's program from a function that judges each new flow
 * by its source, int judge(struct alf_addr_key *source, const struct
 * alf_transport *t): the source and the transport header read straight
 * from the packet (alf_source_read_skb(): no parse, nothing zeroed, no
 * store a delegated alfwrapper's verifier guards), judge() then cuts the
 * key to its prefix (alf_source_cut()) and decides; packets of flows
 * already open (alf_transport_is_new_flow()) pass unjudged, packets that
 * cannot be read are dropped; every packet is counted and, when dropped,
 * logged. The protocol is read from t after judge(), whose helper calls a
 * value kept in a register would have to outlive. */
#define ALF_FILTER_JUDGING_SOURCES(judge)                                              \
	SEC("socket") int filter(struct __sk_buff *skb)                                \
	{                                                                              \
		union alf_source_room source;                                          \
		struct alf_transport t;                                                \
		int verdict;                                                           \
											       \
		if (alf_source_read_skb(skb, &source, &t) < 0)                         \
			return alf_verdict_skb(skb, ALF_DROP);                         \
		verdict = alf_transport_is_new_flow(&t) ? judge(&source.key, &t) : ALF_PASS; \
		return alf_verdict_protocol(skb, t.protocol, verdict);                 \
	}

#endif /* ALFWRAPPER_STATS_H */
