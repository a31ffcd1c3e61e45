/* Records the packet view (struct alf_packet) of every packet it judges into
 * a ring buffer, and admits everything: the test that compares the view on a
 * live socket with the view under BPF_PROG_TEST_RUN reads the records back.
 * VIEW_MAP names the ring buffer (-D VIEW_MAP=...), so that each test run can
 * find its own among the kernel's maps. */
#include <alfwrapper/filter.h>

#ifndef VIEW_MAP
#define VIEW_MAP packet_views
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} VIEW_MAP SEC(".maps");

SEC("socket")
int filter(struct __sk_buff *skb)
{
	struct alf_packet packet;

	if (alf_packet_parse(skb, &packet) < 0)
		__builtin_memset(&packet, 0xff, sizeof(packet));
	bpf_ringbuf_output(&VIEW_MAP, &packet, sizeof(packet), 0);
	return ALF_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
