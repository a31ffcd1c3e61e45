/* The alfwrapper filter API: everything a socket filter needs, with no
 * system or libbpf headers. A minimal filter:
 *
 *     #include <alfwrapper/filter.h>
 *
 *     SEC("socket")
 *     int filter(struct __sk_buff *skb)
 *     {
 *         struct alf_packet p;
 *
 *         if (alf_packet_parse(skb, &p) < 0)
 *             return ALF_DROP;
 *         return alf_verdict(skb, &p, alf_is_private_source(&p) ? ALF_PASS : ALF_DROP);
 *     }
 *
 *     char LICENSE[] SEC("license") = "Dual BSD/GPL";
 */
#ifndef ALFWRAPPER_FILTER_H
#define ALFWRAPPER_FILTER_H

#include <alfwrapper/types.h>   /* __u8..__u64, __be16.., uint8_t.., size_t, bool */
#include <alfwrapper/bpf_abi.h> /* struct __sk_buff, BPF_MAP_TYPE_*, BPF_ANY.., flags */
#include <alfwrapper/helpers.h> /* SEC, __uint/__type/__array, bpf_* helpers */
#include <alfwrapper/endian.h>  /* bpf_htons/ntohs/htonl/ntohl/.. */
#include <alfwrapper/addr.h>    /* alf_ipv4/6_addr/subnet, alf_port_t, alf_ifindex_t, address tests */
#include <alfwrapper/packet.h>  /* ALF_PASS/ALF_DROP, struct alf_packet, alf_packet_parse */
#include <alfwrapper/maps.h>    /* ALF_MAP_DEFAULT_VALUE, ALF_MAP_RESIZABLE, ALF_MAP_SLOTS */
#include <alfwrapper/stats.h>   /* alf_verdict(): counters (alfctl stats) and the drop log (alfctl log) */

#endif /* ALFWRAPPER_FILTER_H */
