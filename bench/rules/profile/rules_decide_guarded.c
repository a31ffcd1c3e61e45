/* Profile: the rules filter's decision as a delegated alfwrapper compiles
 * it (alf_rules_decide_skb_protocol_guarded(): the search in BPF assembly,
 * no value spilled to the stack), whoever loads it, and nothing counted.
 * As root it has no Spectre guards: next to the same program loaded with
 * CAP_BPF alone, what the verifier's guards cost the search. */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	return alf_rules_decide_skb_protocol_guarded(skb, 0) == ALF_RULE_ALLOW ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
