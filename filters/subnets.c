/* subnets: admit or refuse peers by source address, by --allow/--deny rules.
 * The rules are given on the command line; no C to write.
 *
 *   alfwrapper --allow 10.0.0.0/8 --deny 10.9.0.0/16 --allow 2001:db8::/32 ...
 *   alfwrapper --rules-file networks.txt ...      (lines "allow CIDR" / "deny CIDR")
 *
 * The most specific matching prefix decides; a tie between allow and deny
 * denies; a peer that no rule covers is refused when any allow rule exists
 * and admitted otherwise. IPv4-mapped IPv6 rules (::ffff:10.0.0.0/104) apply
 * to IPv4 peers. Packets that are neither IPv4 nor IPv6 are dropped.
 *
 * --allow, --deny and --rules-file select this filter when no filter is
 * named. The rules are compiled into sorted address ranges searched in about
 * log2(ranges) steps, so a million rules cost little more per packet than
 * twenty (see <alfwrapper/rules.h> for the layout).
 *
 * Maps (filled by alfwrapper from the rules; no --set needed):
 *   alf_rules4       the IPv4 ranges: a table in each of its one or two slots
 *   alf_rules6       the IPv6 ranges, likewise
 *   alf_rules_state  the active rule set and its default
 */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket")
int filter(struct __sk_buff *skb)
{
	__u8 protocol;
	int rule = alf_rules_decide_skb_protocol(skb, &protocol);

	return alf_verdict_protocol(skb, protocol, rule == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
