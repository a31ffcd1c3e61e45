/* Profile: the rules filter's decision (filters/subnets.c) without its
 * counters and drop log (alf_verdict_protocol()): the rules filter as it
 * was before them, for comparison. */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	return alf_rules_decide_skb(skb) == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
