// Values as users write them <-> the bytes of a BTF type.
//
// Text is parsed by walking the type: integers (decimal or 0x hex, range
// checked), enums (by name or number), the project's named types (IPv4/IPv6
// addresses and subnets, ports, interface indexes; recognised by their BTF
// names), __be16/__be32/__be64 (given in host terms, stored in network order),
// and JSON for structs, unions and arrays. A seed-style "TYPE:" prefix
// (uint32_t:0, subnet4:10.0.0.0/8) is accepted and checked against the type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct btf;

namespace alf {

// Encodes `text` as a value of BTF type `type_id` (size bytes). `path` names
// the place in errors ("allow4.key"). type_id 0 means "no BTF": an unsigned
// integer of `size` bytes.
std::vector<std::uint8_t> encode_btf_value(const struct btf *btf, std::uint32_t type_id,
                                           std::size_t size, std::string_view text,
                                           const std::string &path);

// A C-like name of the type: "__u32", "struct alf_ipv4_subnet", "char[16]".
std::string describe_btf_type(const struct btf *btf, std::uint32_t type_id);

}  // namespace alf
