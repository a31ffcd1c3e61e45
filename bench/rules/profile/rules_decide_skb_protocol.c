/* Profile: the rules filter's decision with the protocol byte read, as
 * filters/subnets.c reads it for its counters, but nothing counted: next to
 * rules_decide_skb.c, what reading the protocol costs; next to subnets.c,
 * what counting costs. */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	__u8 protocol;
	int rule = alf_rules_decide_skb_protocol(skb, &protocol);

	/* Uses the protocol, so that the compiler keeps its load. */
	return rule == ALF_RULE_ALLOW || protocol == 0xff ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
