/* The smallest useful filter, for the launch benchmark: the fixed cost of a
 * launch, next to the seed's filters. */
#include <alfwrapper/filter.h>

SEC("socket")
int filter(struct __sk_buff *skb)
{
	return skb->len > 0 ? ALF_PASS : ALF_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
