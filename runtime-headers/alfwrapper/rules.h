/* Declarative rules in the kernel: what `--allow`, `--deny` and
 * `--rules-file` compile to, and the check a filter calls to apply them.
 *
 * Including this header opts a filter in to rules: it declares the rule maps
 * (alfwrapper sizes and fills them from the command line) and the functions
 * below. A custom filter combines the rules with its own logic, e.g.
 *
 *     #include <alfwrapper/filter.h>
 *     #include <alfwrapper/rules.h>
 *
 *     SEC("socket") int filter(struct __sk_buff *skb)
 *     {
 *         struct alf_packet p;
 *
 *         if (alf_packet_parse(skb, &p) < 0 || alf_rules_decide(&p) != ALF_RULE_ALLOW)
 *             return ALF_DROP;
 *         return p.dport == 22 && !alf_is_private_source(&p) ? ALF_DROP : ALF_PASS;
 *     }
 *
 * Semantics (decided by alfwrapper's rule compiler, not here): the most
 * specific matching prefix decides; a tie between allow and deny denies; a
 * peer no rule covers gets the rule set's default, which is deny when any
 * allow rule exists and allow otherwise. IPv4-mapped IPv6 rules
 * (::ffff:10.0.0.0/104) are IPv4 rules; other IPv6 rules, ::/0 included,
 * apply to IPv6 peers only.
 *
 * Representation: each family's rules are flattened into sorted, disjoint
 * address ranges covering the whole address space, each with a verdict
 * (ALF_RULE_NONE where no rule applies). A table holds the ranges' starts,
 * their verdicts, and an index by address bits: entry j is the range holding
 * the first address of bucket j, so a search narrows to the ranges between
 * index[j] and index[j + 1] (about two when addresses spread) and ends with a
 * branch-free binary search there. The buckets cut a window: the addresses
 * sharing the leading bits that all the table's rules share, so rules
 * crowded into one allocation still spread over the buckets; an address
 * outside the window lies before or after every rule. Every access is a load
 * at a masked offset in one map value, no helper calls. The layout (index
 * bits, capacity) is fixed at load through read-only globals, which the
 * verifier treats as constants. Measured per packet with BPF_PROG_TEST_RUN:
 * see bench/RESULTS.md.
 *
 * Changing rules while the service runs (alfctl rules): the tables are
 * arrays of two elements, each a complete table (a "slot") with room to
 * grow. A range may appear more than once in a row (a search lands on any
 * copy, with one verdict): the room lies spread among the ranges as such
 * copies, so that a rule added later shifts ranges only up to the nearest
 * copy; past the last range (the entry index[1 << index_bits] names), a
 * search never reads, and the table's room lies there unwritten. A
 * changed rule set is written into the slot not in use (mmap; the table
 * keeps its index bits and its capacity; the window is the slot's own) and
 * published by one aligned 4-byte store of alf_rules_state.active. A packet
 * reads `active` once, so it is judged by the old set or the new one, never
 * a mixture. Tables sized to one slot (--map-size alf_rules4=1 and
 * alf_rules6=1) save the memory and cannot change.
 *
 * Hits per rule (alfwrapper --rule-hits, alfctl stats --rules): every
 * search counts the entry it ends on (alf_rule_hits, below), and the rule
 * compiler keeps every rule's edges as range edges, so that an entry's
 * packets are one rule's.
 */
#ifndef ALFWRAPPER_RULES_H
#define ALFWRAPPER_RULES_H

#include <alfwrapper/types.h>
#include <alfwrapper/bpf_abi.h>
#include <alfwrapper/helpers.h>
#include <alfwrapper/addr.h>
#include <alfwrapper/packet.h>

/* Verdicts stored in the tables and returned by the lookups. */
#define ALF_RULE_NONE  0 /* no rule covers the address */
#define ALF_RULE_ALLOW 1
#define ALF_RULE_DENY  2

/* Which slot of the tables the filter reads, and each slot's default
 * verdict (ALF_RULE_ALLOW or ALF_RULE_DENY) for addresses no rule covers. */
struct alf_rules_state {
	__u32 active;
	__u32 generation; /* incremented by each swap */
	__u32 default_verdict[2];
};

/* The head of a table's slot: the window the index buckets cut, as the
 * leading bits of the address (IPv4) or of its high half (IPv6) that the
 * slot's rules share. bits 0: the whole space. */
struct alf_rules_window {
	__u64 prefix;
	__u32 bits;
	/* Always 0, and read from the table: the range before the window, and
	 * an offset that the verifier cannot know. Loaded with CAP_BPF alone
	 * (no CAP_PERFMON), a filter's pointer arithmetic is sanitised against
	 * Spectre v1, and then each such instruction must see the same kind of
	 * offset on every path: a key the verifier learnt from a branch (an
	 * IPv6 source with a zero high half) would make a constant bucket on
	 * one path and a variable one on another, which it refuses. */
	__u32 zero;
};

/* A table's layout, set by alfwrapper before load (read-only, so constants
 * for the verifier). One slot of an IPv4 table is
 *     struct alf_rules_window window;
 *     __u32 index[(1 << index_bits) + 1];   then padding to 16 bytes
 *     __u32 start[1 << capacity_bits];      host order, ascending
 *     __u8  verdict[1 << capacity_bits];
 * and of an IPv6 table the same with __u64 start[2 << capacity_bits]
 * (high and low halves of each start, host order). */
const volatile __u32 alf_rules4_index_bits = 1;
const volatile __u32 alf_rules4_capacity_bits = 0;
const volatile __u32 alf_rules6_index_bits = 1;
const volatile __u32 alf_rules6_capacity_bits = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	/* Set by alfwrapper to one slot's size; this default is the slot of the
	 * default layout above (a table of one range), so the object loads as is. */
	__uint(value_size, 40);
	__uint(max_entries, 1); /* slots */
	__uint(map_flags, BPF_F_MMAPABLE);
} alf_rules4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 56);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
} alf_rules6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct alf_rules_state);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
} alf_rules_state SEC(".maps");

/* Hits per table entry, for `alfctl stats --rules` (alfwrapper --rule-hits):
 * while alf_rules_count_hits is 0 (the default) the map holds one unused
 * value and the verifier drops the counting code. Otherwise each CPU owns a
 * row of (1 << alf_rules4_capacity_bits) IPv4 entries then
 * (1 << alf_rules6_capacity_bits) IPv6 ones, shared by both slots (a change
 * keeps the entries it does not rewrite where they are), counted without
 * atomics: a CPU writes its row alone. alfctl attributes an entry's hits to
 * the rule that decides its range. */
const volatile __u32 alf_rules_count_hits = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
} alf_rule_hits SEC(".maps");

static __always_inline void alf_rules_count_hit(bool ipv6, __u64 entry)
{
	__u32 ipv4_entries = 1U << alf_rules4_capacity_bits;
	__u32 row = ipv4_entries + (1U << alf_rules6_capacity_bits);
	__u32 key = bpf_get_smp_processor_id() * row + (ipv6 ? ipv4_entries : 0) + (__u32)entry;
	__u64 *hits = bpf_map_lookup_elem(&alf_rule_hits, &key);

	if (hits)
		*hits += 1;
}

/* Offset of the starts in a slot: after the window and the index, 16-byte aligned. */
static __always_inline __u32 alf_rules_starts_offset(__u32 index_bits)
{
	return ((16 + ((1U << index_bits) + 1) * 4) + 15) & ~15U;
}

/* Where the search for key (`width` bits, of which the window and the index
 * use the top ones) starts and how many ranges it covers. */
static __always_inline void alf_rules_narrow(const __u8 *table, __u64 key, __u32 width, __u32 index_bits,
					     __u64 *base, __u64 *len)
{
	const struct alf_rules_window *window = (const void *)table;
	const __u32 *index = (const __u32 *)(table + sizeof(*window));
	__u64 window_bits = window->bits, bucket, top;

	if (window_bits != 0) {
		top = key >> (width - window_bits);
		if (top != window->prefix) {
			/* Before every rule, or after: the first range or the last. */
			*base = top < window->prefix ? window->zero : index[1U << index_bits];
			*len = 1;
			return;
		}
	}
	bucket = ((key >> (width - window_bits - index_bits)) | window->zero) & ((1U << index_bits) - 1);
	*base = index[bucket];
	*len = (__u32)(index[bucket + 1] - *base + 1);
}

/* The state, read once per packet; NULL only if the map is missing. The
 * key from the read-only data (alf_array_key) where the verifier guards
 * stack stores, else from the stack, which costs a nanosecond less. */
static __always_inline const struct alf_rules_state *alf_rules_state_keyed(bool read_only_key)
{
	__u32 zero = 0;

	if (read_only_key)
		return bpf_map_lookup_elem(&alf_rules_state, alf_array_key(0));
	return bpf_map_lookup_elem(&alf_rules_state, &zero);
}

static __always_inline const struct alf_rules_state *alf_rules_state_now(void)
{
	return alf_rules_state_keyed(alf_stack_stores_guarded);
}

static __always_inline __u32 alf_rules_active_slot(const struct alf_rules_state *state)
{
	return *(volatile const __u32 *)&state->active & 1;
}

/* 1 when a < b (unsigned), computed without a branch: the top bit of a - b
 * in 64-bit arithmetic. The barrier keeps the compiler from turning it into
 * a comparison, which the BPF target compiles to a jump (doubling the paths
 * the verifier walks at every step). */
static __always_inline __u64 alf_below32(__u32 a, __u32 b)
{
	__u64 diff = (__u64)a - (__u64)b;

	barrier_var(diff);
	return diff >> 63;
}

/* 1 when a < b (unsigned 64-bit), without a branch. */
static __always_inline __u64 alf_below64(__u64 a, __u64 b)
{
	__u64 borrow = ((~a & b) | (~(a ^ b) & (a - b))) >> 63;

	barrier_var(borrow);
	return borrow;
}

/* 1 when the 128-bit (hi, lo) < the start in the table, the low halves
 * compared only where the high halves are equal: a branch, but one whose
 * two sides leave the verifier the same state (an unknown 0 or 1), so that
 * it walks one path on from there, and most steps take the shorter side
 * (a borrow chain over both halves at every step cost 5-6 ns more a
 * packet, bench/RESULTS.md). */
static __always_inline __u64 alf_below128(__u64 hi, __u64 lo, const __u64 *start)
{
	__u64 start_hi = start[0];

	if (hi != start_hi)
		return alf_below64(hi, start_hi);
	return alf_below64(lo, start[1]);
}

/* The steps of a search made one after the other, before any loop: where
 * addresses spread, the index leaves a search one or two; rules crowded
 * into a bucket take more. The other steps a table may need are a loop:
 * unrolled, the 32 steps any table could need made the program five times
 * longer, and the kernel's passes over the whole program at every load
 * cost by its length (bench/RESULTS.md). In a loop the verifier of a
 * delegated alfwrapper cannot bound a moved pointer by one limit for every
 * turn, and puts a barrier (nospec) before it at every turn: a search all
 * of whose steps were a loop cost 22-31 ns a packet more there. The steps
 * made one after the other take none. */
#define ALF_RULES_UNROLLED_STEPS 4

/* One step of a search: [base, base + len), which holds the last range
 * starting at or below the key (hi, lo), halved toward it; false, with
 * nothing changed, when one range is left. */
static __always_inline bool alf_rules_halve(bool ipv6, const __u8 *starts, __u64 mask, __u64 hi, __u64 lo,
					    __u64 *base, __u64 *len)
{
	__u64 half = *len >> 1;
	const __u8 *start = starts + ((*base + half) & mask) * (ipv6 ? 16 : 4);
	__u64 below;

	if (*len <= 1)
		return false;
	if (ipv6)
		below = alf_below128(hi, lo, (const __u64 *)start);
	else
		below = alf_below32((__u32)hi, *(const __u32 *)start);
	*base += half & (below - 1);
	*len -= half;
	return true;
}

/* The verdict of the range holding the key in `slot` of a table: an IPv4
 * address in hi's low 32 bits, or an IPv6 one as (hi, lo). `ipv6` is a
 * constant at every call, so each inlined copy keeps only its own compare. */
static __always_inline int alf_rules_search(void *map, __u32 slot, __u32 index_bits, __u32 capacity_bits,
					    bool ipv6, __u64 hi, __u64 lo, bool read_only_key)
{
	const __u64 mask = (1ULL << capacity_bits) - 1;
	const __u64 start_bytes = ipv6 ? 16 : 4;
	const __u8 *table = read_only_key ? bpf_map_lookup_elem(map, alf_array_key(slot)) : bpf_map_lookup_elem(map, &slot);
	const __u8 *starts, *verdicts;
	__u64 base, len; /* 64-bit: no zero-extensions at each step */
	/* A bucket holds at most the capacity: capacity_bits halvings end any
	 * search. A constant for the verifier, which walks no step a table of
	 * this size never takes. */
	__u32 steps = capacity_bits;
	__u32 step;

	if (!table || index_bits == 0 || index_bits > 24)
		return ALF_RULE_NONE;
	starts = table + alf_rules_starts_offset(index_bits);
	verdicts = starts + (mask + 1) * start_bytes;
	alf_rules_narrow(table, hi, ipv6 ? 64 : 32, index_bits, &base, &len);
	/* Invariant: the last range starting at or below the key is in [base, base + len). */
#pragma clang loop unroll(full)
	for (step = 0; step < ALF_RULES_UNROLLED_STEPS; step++)
		if (step >= steps || !alf_rules_halve(ipv6, starts, mask, hi, lo, &base, &len))
			goto found;
#pragma clang loop unroll(disable)
	for (; step < steps; step++)
		if (!alf_rules_halve(ipv6, starts, mask, hi, lo, &base, &len))
			break;
found:
	if (alf_rules_count_hits)
		alf_rules_count_hit(ipv6, base & mask);
	return verdicts[base & mask];
}

/* The verdict of the range holding addr (host order) among the IPv4 rules
 * of `slot`: ALF_RULE_ALLOW, _DENY or _NONE. */
static __always_inline int alf_rules_lookup_ipv4_keyed(__u32 addr, __u32 slot, bool read_only_key)
{
	return alf_rules_search(&alf_rules4, slot, alf_rules4_index_bits, alf_rules4_capacity_bits, false, addr, 0,
				read_only_key);
}

static __always_inline int alf_rules_lookup_ipv4_in(__u32 addr, __u32 slot)
{
	return alf_rules_lookup_ipv4_keyed(addr, slot, alf_stack_stores_guarded);
}

/* The verdict of the range holding (hi, lo) among the IPv6 rules of `slot`. */
static __always_inline int alf_rules_lookup_ipv6_keyed(__u64 hi, __u64 lo, __u32 slot, bool read_only_key)
{
	return alf_rules_search(&alf_rules6, slot, alf_rules6_index_bits, alf_rules6_capacity_bits, true, hi, lo,
				read_only_key);
}

static __always_inline int alf_rules_lookup_ipv6_in(__u64 hi, __u64 lo, __u32 slot)
{
	return alf_rules_lookup_ipv6_keyed(hi, lo, slot, alf_stack_stores_guarded);
}

/* 64 bits of addr from byte i on, as a host-order number. */
static __always_inline __u64 alf_addr_dword(const __u8 *addr, int i)
{
	return ((__u64)alf_addr_word(addr, i) << 32) | alf_addr_word(addr, i + 4);
}

/* The rule that covers an IPv4 address: ALF_RULE_ALLOW, _DENY or _NONE. */
static __always_inline int alf_rules_lookup_ipv4(const __u8 addr[4])
{
	const struct alf_rules_state *state = alf_rules_state_now();

	if (!state)
		return ALF_RULE_NONE;
	return alf_rules_lookup_ipv4_in(alf_addr_word(addr, 0), alf_rules_active_slot(state));
}

/* The rule that covers an IPv6 address (an IPv4-mapped one is looked up
 * among the IPv4 rules): ALF_RULE_ALLOW, _DENY or _NONE. */
static __always_inline int alf_rules_lookup_ipv6(const __u8 addr[16])
{
	const struct alf_rules_state *state = alf_rules_state_now();
	__u32 slot;

	if (!state)
		return ALF_RULE_NONE;
	slot = alf_rules_active_slot(state);
	if (alf_ipv6_is_v4mapped(addr))
		return alf_rules_lookup_ipv4_in(alf_addr_word(addr, 12), slot);
	return alf_rules_lookup_ipv6_in(alf_addr_dword(addr, 0), alf_addr_dword(addr, 8), slot);
}

/* The rule that covers p's source: ALF_RULE_ALLOW, _DENY, or _NONE when no
 * rule does (or p is neither IPv4 nor IPv6). */
static __always_inline int alf_rules_verdict(const struct alf_packet *p)
{
	if (p->family == ALF_AF_INET)
		return alf_rules_lookup_ipv4(p->saddr);
	if (p->family == ALF_AF_INET6)
		return alf_rules_lookup_ipv6(p->saddr);
	return ALF_RULE_NONE;
}

/* A verdict with ALF_RULE_NONE replaced by the default of the active rule
 * set: ALF_RULE_ALLOW or ALF_RULE_DENY. */
static __always_inline int alf_rules_apply_default(int verdict)
{
	const struct alf_rules_state *state;

	if (verdict != ALF_RULE_NONE)
		return verdict;
	state = alf_rules_state_now();
	if (!state)
		return ALF_RULE_DENY;
	return state->default_verdict[alf_rules_active_slot(state)] == ALF_RULE_ALLOW ? ALF_RULE_ALLOW
										  : ALF_RULE_DENY;
}

/* The decision for p's source, ALF_RULE_ALLOW or ALF_RULE_DENY: the rule that
 * covers it or, without one, the default. Packets that are neither IPv4 nor
 * IPv6 are denied. */
static __always_inline int alf_rules_decide(const struct alf_packet *p)
{
	if (p->family != ALF_AF_INET && p->family != ALF_AF_INET6)
		return ALF_RULE_DENY;
	return alf_rules_apply_default(alf_rules_verdict(p));
}

/* A delegated alfwrapper's search (alf_stack_stores_guarded), in BPF
 * assembly. Loaded with CAP_BPF alone, the verifier puts a barrier after
 * a store to the stack that spills a value (<alfwrapper/helpers.h>), 5-7
 * ns each. The search in C, inlined where the socket buffer stays alive,
 * made the compiler spill (23 barriers once); as a BPF function it paid a
 * call and a return, and a return goes through the kernel's return thunk
 * on CPUs that need one against speculation (AMD's SRSO): 10-12 ns a
 * packet (bench/RESULTS.md). Here every value stays in a register: the
 * compiler keeps the socket buffer and the key in registers the assembly
 * leaves alone, and the assembly uses the rest.
 *
 * It does what alf_rules_search() does, for the active slot (read once):
 * the window and the index narrow the search, ALF_RULES_UNROLLED_STEPS
 * steps one after the other and the rest in a loop (in a loop the verifier
 * puts a barrier before a moved pointer at every turn) halve it. Each load
 * at a variable offset is one pointer moved by an index that the
 * capacity's mask bounds, as the verifier requires of a delegated filter;
 * the layout comes from the read-only globals, constants for the verifier.
 * Registers: r0 the table (then its starts), r1 the first range of the
 * search, r2 how many it covers, r3-r5 (and r9 for IPv6) scratch, r4 the
 * loop's count, r8 the slot's default, %[k] the key (IPv4: the address;
 * IPv6: where its two halves lie on the stack) and at the end the result:
 * the decision (ALF_RULE_ALLOW or ALF_RULE_DENY), 4 when the table was
 * searched, and from bit 8 the entry the search ended on (for
 * alf_rules_count_hit()). */

/* The state, the active slot's default (without a branch: one path for the
 * verifier), and the slot's table (r0), for the map `table`. The slot's key
 * by a branch, not by moving a pointer, which the verifier would mask. */
#define ALF_RULES_ASM_TABLE(table)                                                                                     \
	"r1 = alf_rules_state ll\n\t"                                                                                  \
	"r2 = alf_array_keys ll\n\t"                                                                                   \
	"call 1\n\t"                                                                                                   \
	"r8 = 2\n\t"                                                                                                   \
	"if r0 == 0 goto .Ldefault%=\n\t"                                                                              \
	"r1 = *(u32 *)(r0 + 0)\n\t"                                                                                    \
	"r1 &= 1\n\t"                                                                                                  \
	"r2 = *(u32 *)(r0 + 8)\n\t"                                                                                    \
	"r3 = *(u32 *)(r0 + 12)\n\t"                                                                                   \
	"r3 ^= r2\n\t"                                                                                                 \
	"r4 = r1\n\t"                                                                                                  \
	"r4 = -r4\n\t"                                                                                                 \
	"r3 &= r4\n\t"                                                                                                 \
	"r3 ^= r2\n\t"                                                                                                 \
	"r3 ^= 1\n\t"                                                                                                  \
	"r4 = r3\n\t"                                                                                                  \
	"r4 = -r4\n\t"                                                                                                 \
	"r4 |= r3\n\t"                                                                                                 \
	"r4 >>= 63\n\t"                                                                                                \
	"r8 = r4\n\t"                                                                                                  \
	"r8 += 1\n\t" /* 1 (allow) when the default is ALF_RULE_ALLOW, else 2 */                                       \
	"r2 = alf_array_keys ll\n\t"                                                                                   \
	"if r1 == 0 goto .Lkey%=\n\t"                                                                                  \
	"r2 += 4\n"                                                                                                    \
	".Lkey%=:\n\t"                                                                                                 \
	"r1 = " table " ll\n\t"                                                                                        \
	"call 1\n\t"                                                                                                   \
	"if r0 == 0 goto .Ldefault%=\n\t"

/* The window and the index: r1 and r2 for the key's high `width` bits in
 * r4 (loaded by `load_top`), then r0 moved to the starts. */
#define ALF_RULES_ASM_NARROW(index_bits, width, load_top)                                                              \
	"r1 = *(u32 *)(r0 + 8)\n\t"                                                                                    \
	"r2 = *(u32 *)(r0 + 12)\n\t"                                                                                   \
	"r5 = " index_bits " ll\n\t"                                                                                   \
	"r5 = *(u32 *)(r5 + 0)\n\t"                                                                                    \
	"if r5 == 0 goto .Ldefault%=\n\t"                                                                              \
	"if r5 > 24 goto .Ldefault%=\n\t"                                                                              \
	"if r1 == 0 goto .Linside%=\n\t"                                                                               \
	"r3 = " width "\n\t"                                                                                           \
	"r3 -= r1\n\t" load_top "r4 >>= r3\n\t"                                                                        \
	"r3 = *(u64 *)(r0 + 0)\n\t"                                                                                    \
	"if r4 == r3 goto .Linside%=\n\t"                                                                              \
	"r1 = r2\n\t" /* before the window: the first range */                                                         \
	"if r4 < r3 goto .Lone%=\n\t"                                                                                  \
	"r3 = 1\n\t" /* after it: the range index[1 << index_bits] names */                                            \
	"r3 <<= r5\n\t"                                                                                                \
	"r3 <<= 2\n\t"                                                                                                 \
	"r4 = r0\n\t"                                                                                                  \
	"r4 += r3\n\t"                                                                                                 \
	"r1 = *(u32 *)(r4 + 16)\n\t"                                                                                   \
	"goto .Lone%=\n"                                                                                               \
	".Linside%=:\n\t"                                                                                              \
	"r3 = " width "\n\t"                                                                                           \
	"r3 -= r1\n\t"                                                                                                 \
	"r3 -= r5\n\t" load_top "r4 >>= r3\n\t"                                                                        \
	"r4 |= r2\n\t"                                                                                                 \
	"r3 = 1\n\t"                                                                                                   \
	"r3 <<= r5\n\t"                                                                                                \
	"r3 += -1\n\t"                                                                                                 \
	"r4 &= r3\n\t"                                                                                                 \
	"r4 <<= 2\n\t"                                                                                                 \
	"r3 = r0\n\t"                                                                                                  \
	"r3 += r4\n\t"                                                                                                 \
	"r1 = *(u32 *)(r3 + 16)\n\t"                                                                                   \
	"r2 = *(u32 *)(r3 + 20)\n\t"                                                                                   \
	"r2 -= r1\n\t"                                                                                                 \
	"r2 += 1\n\t"                                                                                                  \
	"r2 <<= 32\n\t"                                                                                                \
	"r2 >>= 32\n\t"                                                                                                \
	"goto .Lstarts%=\n"                                                                                            \
	".Lone%=:\n\t"                                                                                                 \
	"r2 = 1\n"                                                                                                     \
	".Lstarts%=:\n\t"                                                                                              \
	"r3 = 1\n\t"                                                                                                   \
	"r3 <<= r5\n\t"                                                                                                \
	"r3 += 1\n\t"                                                                                                  \
	"r3 <<= 2\n\t"                                                                                                 \
	"r3 += 31\n\t"                                                                                                 \
	"r3 &= -16\n\t"                                                                                                \
	"r0 += r3\n\t"

/* A step: r5 the start to compare at (a pointer; starts of start_shift
 * bits), the middle of the search masked by the capacity (capacity_bits
 * in r5). */
#define ALF_RULES_ASM_STEP_START(start_shift)                                                                          \
	"r3 = 1\n\t"                                                                                                   \
	"r3 <<= r5\n\t"                                                                                                \
	"r3 += -1\n\t"                                                                                                 \
	"r5 = r2\n\t"                                                                                                  \
	"r5 >>= 1\n\t"                                                                                                 \
	"r5 += r1\n\t"                                                                                                 \
	"r5 &= r3\n\t"                                                                                                 \
	"r5 <<= " start_shift "\n\t"                                                                                   \
	"r5 += r0\n\t"

/* The tail of a step: r3 is 1 when the key lies below the start compared;
 * the search moves past it when not, and halves. */
#define ALF_RULES_ASM_STEP_TAIL                                                                                        \
	"r5 = r2\n\t"                                                                                                  \
	"r5 >>= 1\n\t"                                                                                                 \
	"r3 += -1\n\t"                                                                                                 \
	"r3 &= r5\n\t"                                                                                                 \
	"r1 += r3\n\t"                                                                                                 \
	"r2 -= r5\n\t"

/* An IPv4 step: a 64-bit difference of two 32-bit numbers, its sign bit
 * the comparison. */
#define ALF_RULES_ASM_COMPARE4(n)                                                                                      \
	ALF_RULES_ASM_STEP_START("2")                                                                                  \
	"r5 = *(u32 *)(r5 + 0)\n\t"                                                                                    \
	"r3 = %[k]\n\t"                                                                                                \
	"r3 -= r5\n\t"                                                                                                 \
	"r3 >>= 63\n\t" ALF_RULES_ASM_STEP_TAIL

/* An IPv6 step: the high halves compared, or the low ones where the high
 * ones are equal (a branch whose two sides leave the verifier the same
 * state), a < b for 64-bit a and b as (a >> 1) - (b >> 1) - (the borrow of
 * their low bits) < 0. `n` makes the step's label its own. */
#define ALF_RULES_ASM_COMPARE6(n)                                                                                      \
	ALF_RULES_ASM_STEP_START("4")                                                                                  \
	"r9 = *(u64 *)(r5 + 0)\n\t"                                                                                    \
	"r3 = *(u64 *)(%[k] + 0)\n\t"                                                                                  \
	"if r3 != r9 goto .Lcompare" #n "%=\n\t"                                                                       \
	"r9 = *(u64 *)(r5 + 8)\n\t"                                                                                    \
	"r3 = *(u64 *)(%[k] + 8)\n"                                                                                    \
	".Lcompare" #n "%=:\n\t"                                                                                       \
	"r5 = r3\n\t"                                                                                                  \
	"r5 ^= -1\n\t"                                                                                                 \
	"r5 &= r9\n\t"                                                                                                 \
	"r5 &= 1\n\t"                                                                                                  \
	"r3 >>= 1\n\t"                                                                                                 \
	"r9 >>= 1\n\t"                                                                                                 \
	"r3 -= r9\n\t"                                                                                                 \
	"r3 -= r5\n\t"                                                                                                 \
	"r3 >>= 63\n\t" ALF_RULES_ASM_STEP_TAIL

/* The steps: as many one after the other as ALF_RULES_UNROLLED_STEPS (4),
 * each ending the search when one range is left (a table holds at most
 * its capacity, and a step past capacity_bits of them reads a masked
 * offset all the same); then a loop, whose steps r4 counts so that the
 * verifier sees it end after capacity_bits of them. The counter is a
 * register of its own, dead where the search ends: paths that took
 * different numbers of steps arrive there in one state, which the
 * verifier then walks once. A determined branch sends the verifier of a
 * delegated filter down its other side too, as the CPU might go, with
 * the registers compared made unknown: the loop's end compares a copy of
 * the count, which goes on counting there, and the step's mask comes from
 * the capacity compared, unknown there, so that the verifier stops that
 * walk at the step's load (with a barrier before it, at every turn). */
#define ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits)                                                                     \
	"r5 = " capacity_bits " ll\n\t"                                                                                \
	"r5 = *(u32 *)(r5 + 0)\n\t"

#define ALF_RULES_ASM_STEPS(compare, capacity_bits)                                                                    \
	"if r2 <= 1 goto .Lfound%=\n\t" ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits) compare(0)                          \
	"if r2 <= 1 goto .Lfound%=\n\t" ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits) compare(1)                          \
	"if r2 <= 1 goto .Lfound%=\n\t" ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits) compare(2)                          \
	"if r2 <= 1 goto .Lfound%=\n\t" ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits) compare(3)                          \
	"r4 = 4\n"                                                                                                     \
	".Lloop%=:\n\t"                                                                                                \
	"if r2 <= 1 goto .Lfound%=\n\t" ALF_RULES_ASM_LOAD_CAPACITY(capacity_bits)                                     \
	"r3 = r4\n\t"                                                                                                  \
	"if r3 >= r5 goto .Lfound%=\n\t"                                                                               \
	"r4 += 1\n\t" compare(4) "goto .Lloop%=\n"

/* The verdict of the entry the search ended on (r1, masked), and the
 * result; or the default alone where there is no table. */
#define ALF_RULES_ASM_FOUND(capacity_bits, start_shift)                                                                \
	".Lfound%=:\n\t"                                                                                               \
	"r5 = " capacity_bits " ll\n\t"                                                                                \
	"r5 = *(u32 *)(r5 + 0)\n\t"                                                                                    \
	"r3 = 1\n\t"                                                                                                   \
	"r3 <<= r5\n\t"                                                                                                \
	"r4 = r3\n\t"                                                                                                  \
	"r4 += -1\n\t"                                                                                                 \
	"r1 &= r4\n\t"                                                                                                 \
	"r3 <<= " start_shift "\n\t"                                                                                   \
	"r3 += r1\n\t"                                                                                                 \
	"r3 += r0\n\t"                                                                                                 \
	"%[k] = *(u8 *)(r3 + 0)\n\t"                                                                                   \
	"if %[k] != 0 goto .Lsearched%=\n\t"                                                                           \
	"%[k] = r8\n"                                                                                                  \
	".Lsearched%=:\n\t"                                                                                            \
	"%[k] |= 4\n\t"                                                                                                \
	"r1 <<= 8\n\t"                                                                                                 \
	"%[k] |= r1\n\t"                                                                                               \
	"goto .Lend%=\n"                                                                                               \
	".Ldefault%=:\n\t"                                                                                             \
	"%[k] = r8\n"                                                                                                  \
	".Lend%=:\n\t"

/* The result of a search (above) as a decision, its entry counted with
 * alfwrapper --rule-hits. */
static __always_inline int alf_rules_guarded_result(bool ipv6, __u64 result)
{
	if (alf_rules_count_hits && (result & 4))
		alf_rules_count_hit(ipv6, result >> 8);
	return (int)(result & 3);
}

/* The decision for an IPv4 address (host order): its rule, else the
 * active slot's default. */
static __always_inline int alf_rules_decide_guarded4(__u32 addr4)
{
	__u64 k = addr4;

	__asm__ __volatile__(ALF_RULES_ASM_TABLE("alf_rules4")
			     ALF_RULES_ASM_NARROW("alf_rules4_index_bits", "32", "r4 = %[k]\n\t")
			     ALF_RULES_ASM_STEPS(ALF_RULES_ASM_COMPARE4, "alf_rules4_capacity_bits")
			     ALF_RULES_ASM_FOUND("alf_rules4_capacity_bits", "2")
			     : [k] "+r"(k)
			     :
			     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "memory");
	return alf_rules_guarded_result(false, k);
}

/* The decision for an IPv6 address whose halves (host order) key6 points
 * at, on the stack. */
static __always_inline int alf_rules_decide_guarded6(const volatile __u64 *key6)
{
	__u64 k = (__u64)key6;

	__asm__ __volatile__(ALF_RULES_ASM_TABLE("alf_rules6")
			     ALF_RULES_ASM_NARROW("alf_rules6_index_bits", "64", "r4 = *(u64 *)(%[k] + 0)\n\t")
			     ALF_RULES_ASM_STEPS(ALF_RULES_ASM_COMPARE6, "alf_rules6_capacity_bits")
			     ALF_RULES_ASM_FOUND("alf_rules6_capacity_bits", "4")
			     : [k] "+r"(k)
			     :
			     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "r9", "memory");
	return alf_rules_guarded_result(true, k);
}

/* Not 0 unless (hi, lo) is an IPv4-mapped IPv6 address: one value to
 * test. Tested as `hi != 0 || ...`, each way into the IPv6 search would
 * teach the verifier something else of hi (not 0; 0), and it would walk
 * the search once for each (at every load: ~60 instructions a step). */
static __always_inline __u64 alf_ipv6_not_v4mapped(__u64 hi, __u64 lo)
{
	__u64 differs = hi | ((lo >> 32) ^ 0xffff);

	barrier_var(differs);
	return differs;
}

static __always_inline int alf_rules_decide_skb_protocol_guarded(struct __sk_buff *skb, __u8 *protocol)
{
	/* Each family on a path of its own, the packet read before the search,
	 * and the search in assembly (above): no value goes through the stack
	 * by a store the verifier guards with a barrier (a delegated
	 * alfwrapper, see <alfwrapper/helpers.h>). */
	if (protocol)
		*protocol = 0;
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		int verdict = alf_rules_decide_guarded4((__u32)alf_ld_abs_word(skb, ALF_NET_OFFSET + 12));

		/* After the search: not one more value to keep through it. */
		if (protocol)
			*protocol = alf_ipv4_protocol_skb(skb);
		return verdict;
	}
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV6) {
		__u64 header[3]; /* bytes 0..23 of the IPv6 header: the source is 8..23 */
		volatile __u64 *key = &header[1];
		int verdict;

		if (alf_load_net(skb, 0, header, sizeof(header)) < 0)
			return ALF_RULE_DENY;
		/* The source in host order, where the helper wrote it: a store
		 * there costs no barrier, and the search reads it from there. */
		key[0] = bpf_be64_to_cpu(key[0]);
		key[1] = bpf_be64_to_cpu(key[1]);
		/* An IPv4-mapped source is an IPv4 peer (tested as one value, see
		 * alf_ipv6_not_v4mapped()). */
		if (!alf_ipv6_not_v4mapped(key[0], key[1]))
			verdict = alf_rules_decide_guarded4((__u32)key[1]);
		else
			verdict = alf_rules_decide_guarded6(key);
		/* Read from the stack after the search, as for IPv4. */
		if (protocol)
			*protocol = alf_ipv6_protocol_in(header);
		return verdict;
	}
	return ALF_RULE_DENY;
}

static __always_inline int alf_rules_decide_skb_protocol_unguarded(struct __sk_buff *skb, __u8 *protocol)
{
	const struct alf_rules_state *state = alf_rules_state_keyed(false);
	__u32 slot, addr4;
	int verdict;

	if (protocol)
		*protocol = 0;
	if (!state)
		return ALF_RULE_DENY;
	slot = alf_rules_active_slot(state);
	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4) {
		addr4 = (__u32)alf_ld_abs_word(skb, ALF_NET_OFFSET + 12);
		if (protocol)
			*protocol = alf_ipv4_protocol_skb(skb);
	} else if (skb->protocol == ALF_SKB_PROTOCOL_IPV6) {
		__u64 header[3], hi, lo;

		if (alf_load_ipv6_source(skb, header, &hi, &lo) < 0)
			return ALF_RULE_DENY;
		if (protocol)
			*protocol = alf_ipv6_protocol_in(header);
		addr4 = (__u32)lo;
		/* An IPv4-mapped source is an IPv4 peer. */
		if (alf_ipv6_not_v4mapped(hi, lo)) {
			verdict = alf_rules_lookup_ipv6_keyed(hi, lo, slot, false);
			goto decide;
		}
	} else {
		return ALF_RULE_DENY;
	}
	verdict = alf_rules_lookup_ipv4_keyed(addr4, slot, false);
decide:
	if (verdict != ALF_RULE_NONE)
		return verdict;
	return state->default_verdict[slot] == ALF_RULE_ALLOW ? ALF_RULE_ALLOW : ALF_RULE_DENY;
}

/* alf_rules_decide() reading nothing but the source address from the packet
 * (instead of alf_packet_parse()'s several loads): the fast path of the
 * rules filter. The family comes from skb->protocol, which the stack sets
 * (a dual-stack IPv6 socket receives IPv4 packets as ETH_P_IP). Packets of
 * other protocols, and truncated ones, are denied. It reads with
 * alf_ld_abs_word(), so a bpf_loop callback (which has no socket buffer)
 * uses alf_rules_decide() instead.
 * With `protocol` (not NULL), it also stores the IP header's protocol
 * (IPv6: its next header) there, for alf_verdict_protocol() of
 * <alfwrapper/stats.h>: alf_socket_protocol when alfwrapper set it, else
 * one byte more of the header (0 for packets that are neither IPv4 nor
 * IPv6).
 *
 * Two ways to the same decision, one chosen at load
 * (alf_stack_stores_guarded, a constant for the verifier, which drops the
 * other): where stack stores cost nothing, the state is read first and the
 * families share the IPv4 search; where the verifier guards them (a
 * delegated alfwrapper), the code keeps fewer values alive across calls,
 * so that the compiler spills fewer to the stack (bench/RESULTS.md). */
static __always_inline int alf_rules_decide_skb_protocol(struct __sk_buff *skb, __u8 *protocol)
{
	if (alf_stack_stores_guarded)
		return alf_rules_decide_skb_protocol_guarded(skb, protocol);
	return alf_rules_decide_skb_protocol_unguarded(skb, protocol);
}

static __always_inline int alf_rules_decide_skb(struct __sk_buff *skb)
{
	return alf_rules_decide_skb_protocol(skb, 0);
}

#endif /* ALFWRAPPER_RULES_H */
