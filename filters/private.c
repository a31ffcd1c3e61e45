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
	struct alf_packet packet;

	if (alf_packet_parse(skb, &packet) < 0)
		return alf_verdict_skb(skb, ALF_DROP);
	return alf_verdict(skb, &packet, alf_is_private_source(&packet) ? ALF_PASS : ALF_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
