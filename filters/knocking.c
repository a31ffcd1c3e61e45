/* knocking: port knocking: admit a source that knocked a sequence of ports.
 * A source address is admitted for `open_ms` after it has knocked the
 * configured sequence, in order, within `window_ms`; until then its new flows
 * are dropped, so the service looks closed (a dropped SYN is never answered).
 *
 * The knock design: knocks arrive on the service's own port and are told
 * apart by the client's SOURCE port. A knock is a TCP SYN (or, on a UDP
 * socket, a datagram) to the service sent from source port sequence[i]. This
 * works with the one socket the service already has, for TCP and UDP alike,
 * and opens nothing more: there is no knock port to find by scanning (the
 * service's port answers nothing to a stranger, knock or not). The price:
 * knocks must reach the server with their source ports unchanged, so a
 * client behind a NAT that rewrites source ports cannot knock. The client
 * side is examples/knock.py (binds each source port, sends one SYN or
 * datagram, closes); by hand: `nc -p 7001 -w 1 HOST PORT`, one per knock.
 *
 * Rules, per source address (IPv4, IPv4-mapped IPv6 as IPv4, IPv6):
 * - a flow from an admitted source passes, from any source port, until
 *   open_ms after its last right knock; packets of TCP connections already
 *   established always pass (only SYNs and datagrams are judged), so a
 *   connection outlives the admission;
 * - a knock from source port sequence[next] advances the source by one (the
 *   first one starts the window); the last one admits it; knocks themselves
 *   are dropped;
 * - the same knock again (a retransmitted SYN) changes nothing, so two
 *   consecutive knocks of a sequence must differ;
 * - any other flow (a wrong knock, or a connection attempt before the
 *   sequence is complete) starts the sequence over; so does a knock that
 *   comes after window_ms from the first.
 *
 * Maps:
 *   config  array, 1 slot: struct knocking_config (JSON)
 *             sequence   up to 8 source ports, in order; ends at the first 0
 *             window_ms  time allowed for the whole sequence, default 10000
 *             open_ms    how long a source stays admitted, default 30000
 *           Without a sequence nothing is admitted.
 *   knocks  LRU hash, struct alf_addr_key -> struct knock_state, 16384
 *           entries: the state, filled by the filter. An entry is made only
 *           for a source whose knock was right (strangers, whose source ports
 *           are random, almost never make one), and LRU: a flood of knocking
 *           sources evicts the longest-idle entries instead of filling the
 *           map.
 *
 * Example: knock 7001, 7002, 7003 within 5 s to be admitted for a minute
 *   alfwrapper -f knocking --set 'config,0,{"sequence":[7001,7002,7003],"window_ms":5000,"open_ms":60000}' \
 *       --port 2222 -- myserver
 *   examples/knock.py server.example 2222 7001 7002 7003 && ssh -p 2222 server.example
 */
#include <alfwrapper/filter.h>

#define KNOCKS_MAX 8
#define KNOCK_SOURCES 16384
#define MS 1000000ULL

struct knocking_config {
	alf_port_t sequence[KNOCKS_MAX];
	__u32 window_ms;
	__u32 open_ms;
};

struct knock_state {
	__u64 started_ns;    /* first knock of the current attempt */
	__u64 open_until_ns; /* admitted until then */
	__u32 next;          /* index in sequence of the knock expected next */
	__u16 last_port;     /* the last right knock, host order */
	__u16 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct knocking_config);
	__uint(max_entries, 1);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct alf_addr_key);
	__type(value, struct knock_state);
	__uint(max_entries, KNOCK_SOURCES);
} knocks SEC(".maps");

/* Knock i of the sequence in host order; 0 past its end. Each knock is
 * read at a constant offset: a filter loaded with CAP_BPF alone (no
 * CAP_PERFMON) has its pointer arithmetic checked against Spectre v1, and
 * the verifier refuses an index into the map value that is a constant on
 * one path (knock 0) and a variable on another. */
static __always_inline __u16 knock_port(const struct knocking_config *cfg, __u32 i)
{
	__u16 port = 0;

#pragma clang loop unroll(full)
	for (__u32 k = 0; k < KNOCKS_MAX; k++)
		if (i == k)
			port = cfg->sequence[k];
	return bpf_ntohs(port);
}

/* The verdict on a new flow from source, its ports in t; the program
 * (ALF_FILTER_JUDGING_SOURCES) counts and logs it. The source port is
 * read from t where it is used (from memory, not kept in a register
 * through the helper calls: see struct alf_transport). */
static __always_inline int judge(struct alf_addr_key *source, const struct alf_transport *t)
{
	const struct knocking_config *cfg;
	struct knock_state *state;
	__u64 now, window_ns;
	__u32 next;

	cfg = bpf_map_lookup_elem(&config, alf_array_key(0));
	if (!cfg || knock_port(cfg, 0) == 0)
		return ALF_DROP;
	alf_source_cut(source, 32, 128); /* the whole address */

	now = bpf_ktime_get_ns();
	state = bpf_map_lookup_elem(&knocks, source);
	if (!state) {
		const struct knock_state fresh = {0};

		if (t->sport != knock_port(cfg, 0))
			return ALF_DROP;
		bpf_map_update_elem(&knocks, source, &fresh, BPF_NOEXIST);
		state = bpf_map_lookup_elem(&knocks, source);
		if (!state)
			return ALF_DROP;
	}
	if (now < state->open_until_ns)
		return ALF_PASS;
	/* Worked out after the calls, not kept through them (each value kept
	 * past the registers a call preserves is a stack store, which a
	 * delegated alfwrapper's verifier guards with a barrier). */
	window_ns = (cfg->window_ms ? cfg->window_ms : 10000) * MS;

	next = state->next;
	if (next != 0 && now - state->started_ns > window_ns)
		next = 0;
	if (next != 0 && t->sport == state->last_port) {
		state->next = next;
		return ALF_DROP;
	}
	if (t->sport != knock_port(cfg, next)) {
		/* A wrong knock starts over; it may itself be the first knock. */
		next = 0;
		if (t->sport != knock_port(cfg, 0)) {
			state->next = 0;
			return ALF_DROP;
		}
	}
	if (next == 0)
		state->started_ns = now;
	next++;
	state->last_port = t->sport;
	if (knock_port(cfg, next) == 0) {
		state->open_until_ns = now + (cfg->open_ms ? cfg->open_ms : 30000) * MS;
		next = 0;
	}
	state->next = next;
	return ALF_DROP;
}

ALF_FILTER_JUDGING_SOURCES(judge)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
