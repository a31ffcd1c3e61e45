// Values as users write them <-> the bytes of a BTF type.
//
// Text is parsed by walking the type: integers (decimal or 0x hex, range
// checked), enums (by name or number), the project's named types (IPv4/IPv6
// addresses and subnets, ports, interface indexes; recognised by their BTF
// names), __be16/__be32/__be64 (given in host terms, stored in network order),
// and JSON for structs, unions and arrays (a field or element given as 0 is
// zero, whatever its type). A seed-style "TYPE:" prefix (uint32_t:0,
// subnet4:10.0.0.0/8) is accepted and checked against the type.
//
// Bytes are decoded the other way, to JSON that the encoder takes back.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
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

// The bytes of a value of BTF type `type_id` as JSON: integers as numbers
// (__be16/32/64 in host terms, bool as true/false), enums by the name of
// their enumerator, addresses and subnets as text (10.0.0.0/8), ports as
// numbers, interfaces by name (by index when none has it here), char arrays
// holding a C string as strings, other arrays as arrays, structs and unions
// as objects of their fields (bit fields as numbers), a data section
// (.rodata) as an object of its variables. A value the encoder
// wrote decodes to what, given back through setting_text(), encodes to the
// same bytes. type_id 0 (no BTF): an unsigned integer of up to 8 bytes, else
// an array of the bytes. Throws Error when the type is larger than `bytes`.
nlohmann::json decode_btf_value(const struct btf *btf, std::uint32_t type_id, std::span<const std::uint8_t> bytes);

// A decoded value as --set and --set-file take it: a string as it is
// (10.0.0.0/8, GREEN), anything else as compact JSON.
std::string setting_text(const nlohmann::json &value);

// A C-like name of the type: "__u32", "struct alf_ipv4_subnet", "char[16]".
std::string describe_btf_type(const struct btf *btf, std::uint32_t type_id);

}  // namespace alf
