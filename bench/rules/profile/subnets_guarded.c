/* Profile: filters/subnets.c with the decision a delegated alfwrapper
 * compiles (the search in BPF assembly) whoever loads it, counted as
 * subnets.c counts: next to rules_decide_guarded.c, what counting costs
 * each way of loading; as root next to subnets.c, what the assembly
 * costs against the C search root gets. */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>
#include <alfwrapper/stats.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	__u8 protocol;
	int rule = alf_rules_decide_skb_protocol_guarded(skb, &protocol);

	return alf_verdict_protocol(skb, protocol, rule == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP);
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
