/* Profile: alf_packet_parse() alone, what a custom filter pays before
 * alf_rules_decide() (several bpf_skb_load_bytes_relative calls). */
#include <alfwrapper/filter.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	struct alf_packet p;

	return alf_packet_parse(skb, &p) < 0 ? ALF_DROP : ALF_PASS;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
