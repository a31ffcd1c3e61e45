/* The map types the BTF value fuzzer encodes into: every kind of type
 * --set, --set-file and "maps" can be given (integers of each size and sign,
 * bool, enums, big-endian integers, the project's named types, char arrays,
 * arrays, nested structs, unions, bit fields, pointers that cannot be set).
 * The maps are listed in the order the fuzzers number them. */
#include <alfwrapper/filter.h>

enum colour { RED = 1, GREEN = 2, BLUE = 40000, NEGATIVE = -3 };
enum __attribute__((packed)) tiny { SMALL = 1, LARGE = 255 };

struct endpoint {
	struct alf_ipv6_addr address;
	alf_port_t port;
	__be32 flow;
};

struct record {
	__u8 u8;
	__s8 s8;
	__u16 u16;
	__s16 s16;
	__u32 u32;
	__s32 s32;
	__u64 u64;
	__s64 s64;
	_Bool flag;
	__be16 be16;
	__be64 be64;
	enum colour colour;
	enum tiny tiny;
	char name[8];
	__u16 list[3];
	struct endpoint peers[2];
	struct alf_port_range range;
	alf_ifindex_t interface;
	union {
		__u32 word;
		__u8 bytes[4];
	} either;
	__u32 bits : 3, more_bits : 5;
	int *pointer;
};

#define ALF_FUZZ_MAP(name, key_type, value_type)                                                      \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
		__uint(max_entries, 4);                                                            \
	} name SEC(".maps")

ALF_FUZZ_MAP(records, __u32, struct record);
ALF_FUZZ_MAP(subnets4, struct alf_ipv4_subnet, struct alf_ipv6_subnet);
ALF_FUZZ_MAP(addresses, struct alf_ipv4_addr, struct alf_ipv6_addr);
ALF_FUZZ_MAP(ports, alf_port_t, alf_ifindex_t);
ALF_FUZZ_MAP(colours, enum colour, enum tiny);
ALF_FUZZ_MAP(signed_keys, __s64, __s8);
ALF_FUZZ_MAP(names, char[16], __be32);
ALF_FUZZ_MAP(matrix, __u8[2][3], struct endpoint);
ALF_FUZZ_MAP(ranges, struct alf_port_range, _Bool);

SEC("socket") int filter(struct __sk_buff *skb)
{
	return skb->len;
}
