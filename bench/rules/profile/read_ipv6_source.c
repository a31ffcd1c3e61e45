/* Profile: the rules filter's first step alone for IPv6, reading the 16-byte
 * source with bpf_skb_load_bytes_relative (IPv4 packets read as IPv4). */
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>

SEC("socket") int filter(struct __sk_buff *skb)
{
	__u64 source[2];

	if (skb->protocol == ALF_SKB_PROTOCOL_IPV4)
		return alf_ld_abs_word(skb, ALF_NET_OFFSET + 12) ? ALF_PASS : ALF_DROP;
	if (alf_load_net(skb, 8, source, sizeof(source)) < 0)
		return ALF_DROP;
	return source[0] | source[1] ? ALF_PASS : ALF_DROP;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
