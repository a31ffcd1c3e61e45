/* ratelimit: limit how often each source network may open a new flow.
 * New flows are TCP connections (SYNs) or UDP datagrams, at most `rate` per
 * `period_ms` with bursts of up to `burst`. Everything else passes: packets
 * of established TCP connections are never counted nor cut, so a client that
 * got in keeps its connection however busy it is.
 *
 * Each source network (the source address cut to /prefix4 for IPv4, IPv4-mapped
 * included, /prefix6 for IPv6) has a token bucket holding up to `burst`
 * tokens, refilled at `rate` tokens per `period_ms`. A new flow takes a token
 * or, when the bucket is empty, is dropped (a TCP client retries its SYN after
 * 1 s, 3 s, 7 s, ...). A source seen for the first time starts with a full
 * bucket.
 *
 * Maps:
 *   config   array, 1 slot: struct ratelimit_config (JSON); a field left 0
 *            takes its default
 *              rate       tokens per period             default 10
 *              period_ms  the period, milliseconds      default 1000
 *              burst      the bucket's size, tokens     default 2 * rate
 *              prefix4    IPv4 prefix length, 1..32     default 32
 *              prefix6    IPv6 prefix length, 1..128    default 64
 *   buckets  LRU hash, struct alf_addr_key -> struct ratelimit_bucket, 65536
 *            entries: the state, filled by the filter. LRU: a flood from many
 *            sources evicts the longest-idle buckets instead of filling the
 *            map (an evicted source starts again with a full bucket).
 *
 * Example: 5 new connections a second per client, bursts of 10
 *   alfwrapper -f ratelimit --set 'config,0,{"rate":5,"burst":10}' --port 8080 -- myserver
 * Example: one new connection per minute per IPv6 /48
 *   alfwrapper -f ratelimit --set 'config,0,{"rate":1,"period_ms":60000,"burst":1,"prefix6":48}' ...
 */
#include <alfwrapper/filter.h>

#define RATELIMIT_BUCKETS 65536

struct ratelimit_config {
	__u32 rate;
	__u32 period_ms;
	__u32 burst;
	__u32 prefix4;
	__u32 prefix6;
};

/* The bucket as one time stamp (the "virtual scheduling" form of a token
 * bucket): full_at is when the bucket will be full again. With T the time one
 * token takes to come back, the bucket holds (burst*T - (full_at - now)) / T
 * tokens; a new flow is admitted if that is at least 1, and then moves
 * full_at T later. One number per source, no refill arithmetic. */
struct ratelimit_bucket {
	__u64 full_at_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ratelimit_config);
	__uint(max_entries, 1);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct alf_addr_key);
	__type(value, struct ratelimit_bucket);
	__uint(max_entries, RATELIMIT_BUCKETS);
} buckets SEC(".maps");

/* value, or fallback when value is 0 (a field left out of the JSON). */
static __always_inline __u64 or_default(__u32 value, __u64 fallback)
{
	return value ? value : fallback;
}

/* The verdict on a new flow from source, cut here to the configured
 * prefix; the program (ALF_FILTER_JUDGING_SOURCES) counts and logs it. */
static __always_inline int judge(struct alf_addr_key *source, const struct alf_transport *t)
{
	const struct ratelimit_config *cfg;
	struct ratelimit_bucket *bucket;
	__u64 now, token_ns, capacity_ns, rate, full_at;

	(void)t; /* every new flow counts alike, whatever its ports */
	cfg = bpf_map_lookup_elem(&config, alf_array_key(0));
	if (!cfg)
		return ALF_DROP;
	alf_source_cut(source, or_default(cfg->prefix4, 32), or_default(cfg->prefix6, 64));

	now = bpf_ktime_get_ns();
	bucket = bpf_map_lookup_elem(&buckets, source);
	/* The limits worked out after the calls, not kept through them: a
	 * value kept past the registers a call preserves goes to the stack,
	 * a store the verifier guards with a barrier when a delegated
	 * alfwrapper loads the filter. */
	cfg = bpf_map_lookup_elem(&config, alf_array_key(0));
	if (!cfg)
		return ALF_DROP;
	rate = or_default(cfg->rate, 10);
	token_ns = or_default(cfg->period_ms, 1000) * 1000000 / rate;
	capacity_ns = or_default(cfg->burst, 2 * rate) * token_ns;
	if (!bucket) {
		struct ratelimit_bucket fresh = {.full_at_ns = now + token_ns};

		bpf_map_update_elem(&buckets, source, &fresh, BPF_NOEXIST);
		return ALF_PASS;
	}
	full_at = bucket->full_at_ns > now ? bucket->full_at_ns : now;
	if (full_at + token_ns - now > capacity_ns)
		return ALF_DROP;
	/* Two CPUs judging SYNs of one source at the same moment may both take
	 * the last token: the limit is exact per CPU, approximate across them. */
	bucket->full_at_ns = full_at + token_ns;
	return ALF_PASS;
}

ALF_FILTER_JUDGING_SOURCES(judge)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
