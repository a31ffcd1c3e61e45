/* A socket filter written the way libbpf's documentation writes them, for the
 * test that shows such filters compile unchanged without kernel or libbpf
 * headers installed: admits IPv4 packets whose source address is a key of
 * the hash map `allowed` (host order), counting them; drops the rest. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} allowed SEC(".maps");

SEC("socket")
int socket_allowlist(struct __sk_buff *skb)
{
	struct iphdr iph;
	__u32 saddr;
	__u64 *packets;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes_relative(skb, 0, &iph, sizeof(iph), BPF_HDR_START_NET))
		return 0;
	if (iph.protocol != IPPROTO_TCP && iph.protocol != IPPROTO_UDP)
		return 0;
	saddr = bpf_ntohl(iph.saddr);
	packets = bpf_map_lookup_elem(&allowed, &saddr);
	if (!packets)
		return 0;
	__sync_fetch_and_add(packets, 1);
	return skb->len;
}

char _license[] SEC("license") = "GPL";
