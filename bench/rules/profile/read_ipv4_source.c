/* Profile: the rules filter's first step alone for IPv4, reading the source
 * with one legacy packet load (BPF_LD_ABS) relative to the network header. */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	if (skb->protocol != ALF_SKB_PROTOCOL_IPV4)
		return ALF_PASS;
	return alf_ld_abs_word(skb, ALF_NET_OFFSET + 12) ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
