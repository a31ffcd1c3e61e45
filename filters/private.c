/* private: admit only peers from loopback, private and link-local sources;
 * drop everything else, including packets that cannot be parsed.
 *
 * Admitted sources:
 *   IPv4  127.0.0.0/8 (loopback), 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16
 *         (RFC 1918), 169.254.0.0/16 (link-local)
 *   IPv6  ::1, fc00::/7 (unique local), fe80::/10 (link-local), and the
 *         IPv4-mapped forms (::ffff:a.b.c.d) of the IPv4 ranges
 * IPv4 clients of a dual-stack IPv6 socket arrive as IPv4 packets and are
 * judged by the IPv4 ranges.
 *
 * Maps: none; nothing to set.
 *
 * Example:
 *   alfwrapper -f private --port 8080 -- myserver
 */
#include <alfwrapper/filter.h>

SEC("socket")
int filter(struct __sk_buff *skb)
{
	/* The source read straight from the packet, not the whole packet
	 * parsed: fewer loads, and nothing to zero on the stack. */
	__u8 protocol;
	bool admitted = alf_is_private_source_skb(skb, &protocol);

	return alf_verdict_protocol(skb, protocol, admitted ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
