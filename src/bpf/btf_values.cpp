#include "bpf/btf_values.hpp"

#include "common/error.hpp"
#include "common/json_input.hpp"
#include "common/util.hpp"
#include "common/net_address.hpp"

#include <bpf/btf.h>
#include <net/if.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

namespace alf {

namespace {

using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

// The project's named types (runtime-headers/alfwrapper), recognised by name.
enum class NamedType { none, ipv4_addr, ipv6_addr, ipv4_subnet, ipv6_subnet, port, ifindex, be_int };

struct TypePrefix {
    enum Kind { integer, named_type } kind;
    unsigned size;  // integers
    bool is_signed;
    NamedType named;
};

const std::map<std::string, TypePrefix, std::less<>> &type_prefixes() {
    static const std::map<std::string, TypePrefix, std::less<>> prefixes = [] {
        std::map<std::string, TypePrefix, std::less<>> m;
        for (unsigned bits : {8u, 16u, 32u, 64u}) {
            std::string b = std::to_string(bits);
            for (auto name : {"uint" + b + "_t", "u" + b, "__u" + b})
                m[name] = {TypePrefix::integer, bits / 8, false, NamedType::none};
            for (auto name : {"int" + b + "_t", "s" + b, "__s" + b})
                m[name] = {TypePrefix::integer, bits / 8, true, NamedType::none};
        }
        m["subnet4"] = {TypePrefix::named_type, 0, false, NamedType::ipv4_subnet};
        m["subnet6"] = {TypePrefix::named_type, 0, false, NamedType::ipv6_subnet};
        m["ipv4"] = m["addr4"] = {TypePrefix::named_type, 0, false, NamedType::ipv4_addr};
        m["ipv6"] = m["addr6"] = {TypePrefix::named_type, 0, false, NamedType::ipv6_addr};
        m["port"] = {TypePrefix::named_type, 0, false, NamedType::port};
        m["ifindex"] = {TypePrefix::named_type, 0, false, NamedType::ifindex};
        return m;
    }();
    return prefixes;
}

// Walks BTF types: follows typedefs and qualifiers to what a value is
// made of, and recognises the project's named types on the way. What the
// encoder and the decoder share, so that they read a type the same way.
class TypeWalker {
public:
    explicit TypeWalker(const struct btf *btf) : btf_(btf) {}

    std::string name_of(const btf_type *t) const {
        const char *n = btf__name_by_offset(btf_, t->name_off);
        return n ? n : "";
    }

    // Follows typedefs and qualifiers, noting a named type on the way.
    std::uint32_t resolve(std::uint32_t id, NamedType &named) const {
        named = NamedType::none;
        for (;;) {
            const btf_type *t = btf__type_by_id(btf_, id);
            if (!t) throw Error("BTF type " + std::to_string(id) + " missing");
            std::string name = name_of(t);
            if (btf_is_typedef(t)) {
                if (named == NamedType::none) {
                    if (name == "alf_port_t") named = NamedType::port;
                    else if (name == "alf_ifindex_t") named = NamedType::ifindex;
                    else if (name == "__be16" || name == "__be32" || name == "__be64")
                        named = NamedType::be_int;
                }
                id = t->type;
            } else if (btf_is_mod(t)) {
                id = t->type;
            } else {
                if (named == NamedType::none && (btf_is_struct(t))) {
                    if (name == "alf_ipv4_addr") named = NamedType::ipv4_addr;
                    else if (name == "alf_ipv6_addr") named = NamedType::ipv6_addr;
                    else if (name == "alf_ipv4_subnet") named = NamedType::ipv4_subnet;
                    else if (name == "alf_ipv6_subnet") named = NamedType::ipv6_subnet;
                }
                return id;
            }
        }
    }

    std::size_t size_of(std::uint32_t id) const {
        long size = btf__resolve_size(btf_, id);
        if (size < 0) throw Error("BTF type " + std::to_string(id) + " has no size");
        return static_cast<std::size_t>(size);
    }

protected:
    bool is_char_array(const btf_type *t) const {
        NamedType named;
        const btf_type *elem = btf__type_by_id(btf_, resolve(btf_array(t)->type, named));
        return elem && btf_is_int(elem) && btf_int_bits(elem) == 8 &&
               (btf_int_encoding(elem) & BTF_INT_CHAR || name_of(elem) == "char");
    }

    const struct btf *btf_;
};

class Encoder : public TypeWalker {
public:
    using TypeWalker::TypeWalker;

    // Encodes text (or a JSON leaf/compound) at `out`, which is size_of(id) bytes.
    void encode_text(std::uint32_t id, std::string_view text, std::uint8_t *out, const std::string &path) {
        NamedType named;
        std::uint32_t resolved = resolve(id, named);
        const btf_type *t = btf__type_by_id(btf_, resolved);

        // Seed form: "TYPE:VALUE" with a known TYPE, checked against BTF.
        auto colon = text.find(':');
        if (colon != std::string_view::npos && colon > 0) {
            auto it = type_prefixes().find(text.substr(0, colon));
            if (it != type_prefixes().end()) {
                check_prefix(it->first, it->second, id, t, named, path);
                text = text.substr(colon + 1);
            }
        }
        if (named != NamedType::none && named != NamedType::be_int) {
            encode_named(named, text, out, size_of(resolved), path);
            return;
        }
        if (btf_is_int(t)) {
            encode_int(t, text, out, named == NamedType::be_int, path, describe_btf_type(btf_, id));
        } else if (btf_is_enum(t)) {
            encode_enum(t, text, out, path);
        } else if (btf_is_array(t) && is_char_array(t) && !(text.size() && text[0] == '[')) {
            encode_char_array(t, text, out, path);
        } else if (btf_is_composite(t) || btf_is_array(t)) {
            json j;
            try {
                j = parse_json_input(text, path);
            } catch (const Error &) {
                throw Error(path + ": '" + quote_input(text) + "' is not valid JSON (expected " +
                            describe_btf_type(btf_, id) + " as a JSON " + (btf_is_array(t) ? "array" : "object") +
                            ", nested at most " + std::to_string(json_max_depth) + " levels)");
            }
            encode_json(id, j, out, path);
        } else {
            throw Error(path + ": values of type " + describe_btf_type(btf_, id) + " cannot be set from the command line");
        }
    }

    void encode_json(std::uint32_t id, const json &j, std::uint8_t *out, const std::string &path) {
        NamedType named;
        std::uint32_t resolved = resolve(id, named);
        const btf_type *t = btf__type_by_id(btf_, resolved);
        if (j.is_string()) {
            encode_text(id, j.get<std::string>(), out, path);
        } else if (j.is_number_integer() || j.is_number_unsigned() || j.is_boolean()) {
            if (!(btf_is_int(t) || btf_is_enum(t) || named == NamedType::port || named == NamedType::ifindex))
                throw Error(path + ": a number was given where " + describe_btf_type(btf_, id) + " is expected");
            encode_text(id, j.is_boolean() ? (j.get<bool>() ? "1" : "0") : j.dump(), out, path);
        } else if (j.is_array()) {
            if (!btf_is_array(t))
                throw Error(path + ": a JSON array was given where " + describe_btf_type(btf_, id) + " is expected");
            const struct btf_array *a = btf_array(t);
            if (j.size() > a->nelems)
                throw Error(path + ": " + std::to_string(j.size()) + " elements given for an array of " +
                            std::to_string(a->nelems));
            std::size_t elem_size = size_of(a->type);
            for (std::size_t i = 0; i < j.size(); ++i)
                if (!left_as_zero(j[i]))
                    encode_json(a->type, j[i], out + i * elem_size, path + "[" + std::to_string(i) + "]");
        } else if (j.is_object()) {
            if (!btf_is_composite(t))
                throw Error(path + ": a JSON object was given where " + describe_btf_type(btf_, id) + " is expected");
            json checked;
            const json &given = name_of(t) == "alf_port_range" ? (checked = port_range(j, path)) : j;
            const struct btf_member *members = btf_members(t);
            for (auto it = given.begin(); it != given.end(); ++it) {
                int found = -1;
                for (int i = 0; i < btf_vlen(t); ++i)
                    if (btf__name_by_offset(btf_, members[i].name_off) == it.key()) found = i;
                if (found < 0) {
                    std::vector<std::string> fields;
                    for (int i = 0; i < btf_vlen(t); ++i) fields.push_back(btf__name_by_offset(btf_, members[i].name_off));
                    throw Error(path + ": " + describe_btf_type(btf_, id) + " has no field '" + it.key() +
                                "' (fields: " + join(fields) + ")");
                }
                if (left_as_zero(it.value())) continue;
                if (btf_member_bitfield_size(t, found) != 0)
                    throw Error(path + "." + it.key() + ": bit fields cannot be set");
                std::size_t offset = btf_member_bit_offset(t, found) / 8;
                encode_json(members[found].type, it.value(), out + offset, path + "." + it.key());
            }
        } else {
            throw Error(path + ": JSON " + std::string(j.type_name()) + " cannot be a " + describe_btf_type(btf_, id));
        }
    }

private:
    // A field or element given as 0 is left as it is, zero, as one not
    // given at all: also where no value of its type is written as 0 (a port,
    // an enum without a zero enumerator, a bit field, a pointer), so that
    // every value the decoder shows is taken back.
    static bool left_as_zero(const json &j) {
        return (j.is_number_integer() || j.is_number_unsigned()) && j.get<std::int64_t>() == 0;
    }

    // struct alf_port_range {first, last}: "last" left out is "first" (one
    // port); first after last would match no port at all.
    static json port_range(const json &j, const std::string &path) {
        json range = j;
        if (range.contains("first") && !range.contains("last")) range["last"] = range["first"];
        if (range.contains("last") && !range.contains("first"))
            throw Error(path + ": a port range needs \"first\" (and \"last\" for more than one port)");
        if (range["first"].is_number_unsigned() && range["last"].is_number_unsigned() &&
            range["first"].get<std::uint64_t>() > range["last"].get<std::uint64_t>())
            throw Error(path + ": first " + range["first"].dump() + " is after last " + range["last"].dump() +
                        ": the range would match no port");
        return range;
    }

    void check_prefix(const std::string &prefix_name, const TypePrefix &prefix, std::uint32_t id,
                      const btf_type *t, NamedType named, const std::string &path) const {
        bool ok;
        if (prefix.kind == TypePrefix::integer) {
            ok = (btf_is_int(t) || btf_is_enum(t)) && named != NamedType::port &&
                 t->size == prefix.size &&
                 (!btf_is_int(t) || ((btf_int_encoding(t) & BTF_INT_SIGNED) != 0) == prefix.is_signed);
        } else {
            ok = named == prefix.named;
        }
        if (!ok)
            throw Error(path + ": the type prefix '" + prefix_name + ":' does not match the map's type " +
                        describe_btf_type(btf_, id));
    }

    void encode_int(const btf_type *t, std::string_view text, std::uint8_t *out, bool big_endian,
                    const std::string &path, const std::string &type_name) const {
        unsigned bits = btf_int_bits(t);
        bool is_signed = btf_int_encoding(t) & BTF_INT_SIGNED;
        if (btf_int_offset(t) != 0 || bits % 8 != 0 || bits > 64)
            throw Error(path + ": integer type " + type_name + " has an unsupported layout");
        std::string what = type_name + " (" + (is_signed ? "signed" : "unsigned") + " " + std::to_string(bits) + "-bit)";
        std::uint64_t value;
        try {
            if (btf_int_encoding(t) & BTF_INT_BOOL) {
                if (text == "true") text = "1";
                else if (text == "false") text = "0";
                value = parse_unsigned(text, 1, what);
            } else if (is_signed) {
                std::int64_t max = bits == 64 ? std::numeric_limits<std::int64_t>::max()
                                              : (std::int64_t(1) << (bits - 1)) - 1;
                value = static_cast<std::uint64_t>(parse_signed(text, -max - 1, max, what));
            } else {
                std::uint64_t max = bits == 64 ? std::numeric_limits<std::uint64_t>::max()
                                               : (std::uint64_t(1) << bits) - 1;
                value = parse_unsigned(text, max, what);
            }
        } catch (const Error &e) {
            throw e.with_context(path);
        }
        unsigned bytes = bits / 8;
        for (unsigned i = 0; i < bytes; ++i) {
            unsigned shift = big_endian ? 8 * (bytes - 1 - i) : 8 * i;
            out[i] = static_cast<std::uint8_t>(value >> shift);
        }
    }

    void encode_enum(const btf_type *t, std::string_view text, std::uint8_t *out, const std::string &path) const {
        const struct btf_enum *values = btf_enum(t);
        std::optional<std::int64_t> value;
        std::vector<std::string> names;
        for (int i = 0; i < btf_vlen(t); ++i) {
            std::string name = btf__name_by_offset(btf_, values[i].name_off);
            names.push_back(name);
            if (name == text) value = values[i].val;
        }
        if (!value) {
            // A number is taken when it is one of the enumerators' values:
            // anything else the filter has no name, and no case, for.
            std::optional<std::int64_t> number;
            try {
                number = parse_signed(text, std::numeric_limits<std::int32_t>::min(),
                                      std::numeric_limits<std::uint32_t>::max(), "an enumerator");
            } catch (const Error &) {
            }
            for (int i = 0; number && i < btf_vlen(t); ++i)
                if (values[i].val == static_cast<std::int32_t>(*number) ||
                    static_cast<std::uint32_t>(values[i].val) == *number)
                    value = number;
            if (!value)
                throw Error(path + ": '" + quote_input(text, 80) + "' is not an enumerator of enum " + name_of(t) +
                            " (one of: " + join(names) + ")");
        }
        std::uint64_t v = static_cast<std::uint64_t>(*value);
        for (unsigned i = 0; i < t->size && i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }

    void encode_char_array(const btf_type *t, std::string_view text, std::uint8_t *out, const std::string &path) const {
        const struct btf_array *a = btf_array(t);
        // The filter reads it as a C string: the terminating NUL must fit.
        if (text.size() >= a->nelems)
            throw Error(path + ": '" + quote_input(text, 80) + "' is " + std::to_string(text.size()) +
                        " characters, longer than char[" + std::to_string(a->nelems) + "] holds with the "
                        "terminating NUL (at most " + std::to_string(a->nelems ? a->nelems - 1 : 0) + ")");
        std::memcpy(out, text.data(), text.size());
    }

    void encode_named(NamedType named, std::string_view text, std::uint8_t *out, std::size_t size,
                      const std::string &path) const {
        auto expect_size = [&](std::size_t want, const char *type) {
            if (size != want)
                throw Error(path + ": " + type + " has " + std::to_string(size) + " bytes, expected " + std::to_string(want));
        };
        try {
            switch (named) {
            case NamedType::ipv4_addr:
            case NamedType::ipv6_addr: {
                bool v4 = named == NamedType::ipv4_addr;
                expect_size(v4 ? 4 : 16, v4 ? "struct alf_ipv4_addr" : "struct alf_ipv6_addr");
                auto address = v4 ? parse_ipv4(text) : parse_ipv6(text);
                if (!address)
                    throw Error("'" + std::string(text) + "' is not an " + (v4 ? "IPv4" : "IPv6") + " address");
                std::memcpy(out, address->bytes.data(), address->size());
                break;
            }
            case NamedType::ipv4_subnet:
            case NamedType::ipv6_subnet: {
                bool v4 = named == NamedType::ipv4_subnet;
                expect_size(v4 ? 8 : 20, v4 ? "struct alf_ipv4_subnet" : "struct alf_ipv6_subnet");
                Subnet subnet = parse_subnet(text, v4 ? Family::ipv4 : Family::ipv6);
                std::uint32_t len = subnet.prefix_len;
                std::memcpy(out, &len, 4);  // host order, as the LPM trie expects
                std::memcpy(out + 4, subnet.address.bytes.data(), subnet.address.size());
                break;
            }
            case NamedType::port: {
                expect_size(2, "alf_port_t");
                std::uint16_t port = parse_port(text);
                out[0] = static_cast<std::uint8_t>(port >> 8);
                out[1] = static_cast<std::uint8_t>(port);
                break;
            }
            case NamedType::ifindex: {
                expect_size(4, "alf_ifindex_t");
                std::uint32_t index = if_nametoindex(std::string(text).c_str());
                if (index == 0) {
                    try {
                        index = static_cast<std::uint32_t>(parse_unsigned(text, 0xffffffff, "an interface index"));
                    } catch (const Error &) {
                        throw Error("'" + std::string(text) + "' is not a network interface here (see `ip link`)");
                    }
                }
                std::memcpy(out, &index, 4);
                break;
            }
            case NamedType::none:
            case NamedType::be_int:
                break;
            }
        } catch (const Error &e) {
            throw e.with_context(path + " (" + named_type_label(named) + ")");
        }
    }

    static const char *named_type_label(NamedType named) {
        switch (named) {
        case NamedType::ipv4_addr: return "struct alf_ipv4_addr, an IPv4 address";
        case NamedType::ipv6_addr: return "struct alf_ipv6_addr, an IPv6 address";
        case NamedType::ipv4_subnet: return "struct alf_ipv4_subnet, an IPv4 subnet like 10.0.0.0/8";
        case NamedType::ipv6_subnet: return "struct alf_ipv6_subnet, an IPv6 subnet like fd00::/8";
        case NamedType::port: return "alf_port_t, a port";
        case NamedType::ifindex: return "alf_ifindex_t, an interface name or index";
        default: return "?";
        }
    }
};

// Little-endian (or, for __be types, big-endian) unsigned integer of up to 8 bytes.
std::uint64_t read_unsigned(std::span<const std::uint8_t> in, bool big_endian = false) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < in.size() && i < 8; ++i) {
        std::size_t shift = big_endian ? 8 * (in.size() - 1 - i) : 8 * i;
        value |= std::uint64_t(in[i]) << shift;
    }
    return value;
}

std::int64_t sign_extend(std::uint64_t value, unsigned bits) {
    if (bits == 0 || bits >= 64) return static_cast<std::int64_t>(value);
    std::uint64_t sign = std::uint64_t(1) << (bits - 1);
    value &= (sign << 1) - 1;
    return static_cast<std::int64_t>((value ^ sign) - sign);
}

// "0x0102...": bytes no number type of JSON holds, most significant first
// (the machine is little-endian).
std::string hex_of(std::span<const std::uint8_t> in) {
    static const char digits[] = "0123456789abcdef";
    std::string text = "0x";
    for (std::size_t i = in.size(); i-- > 0;) {
        text += digits[in[i] >> 4];
        text += digits[in[i] & 15];
    }
    return text;
}

// Whether the encoder takes `text` back as the contents of a char array:
// not when it would read it as a JSON array or a seed-style "TYPE:" prefix.
bool reads_back_as_chars(std::string_view text) {
    if (!text.empty() && text[0] == '[') return false;
    auto colon = text.find(':');
    return colon == std::string_view::npos || colon == 0 || !type_prefixes().count(text.substr(0, colon));
}

class Decoder : public TypeWalker {
public:
    using TypeWalker::TypeWalker;

    json decode(std::uint32_t id, std::span<const std::uint8_t> in) const {
        NamedType named;
        std::uint32_t resolved = resolve(id, named);
        const btf_type *t = btf__type_by_id(btf_, resolved);
        std::size_t size = size_of(resolved);
        if (size > in.size())
            throw Error("BTF type " + describe_btf_type(btf_, id) + " has " + std::to_string(size) +
                        " bytes, more than the " + std::to_string(in.size()) + " there are");
        in = in.first(size);
        if (named != NamedType::none && named != NamedType::be_int)
            if (auto text = decode_named(named, in)) return *text;
        if (btf_is_int(t)) return decode_int(t, in, named == NamedType::be_int);
        if (btf_is_any_enum(t)) return decode_enum(t, in);
        if (btf_is_array(t)) return is_char_array(t) ? decode_chars(t, in) : decode_array(t, in);
        if (btf_is_composite(t)) return decode_members(t, in);
        if (btf_is_datasec(t)) return decode_variables(t, in);
        if (btf_is_float(t) && size == sizeof(double)) return read_as<double>(in);
        if (btf_is_float(t) && size == sizeof(float)) return read_as<float>(in);
        // Pointers and the rest: the bytes as a number.
        return size <= 8 ? json(read_unsigned(in)) : json(hex_of(in));
    }

private:
    template <typename T>
    static json read_as(std::span<const std::uint8_t> in) {
        T value;
        std::memcpy(&value, in.data(), sizeof value);
        return value;
    }

    static std::optional<json> decode_named(NamedType named, std::span<const std::uint8_t> in) {
        switch (named) {
        case NamedType::ipv4_addr:
        case NamedType::ipv6_addr: {
            IpAddress address;
            address.family = named == NamedType::ipv4_addr ? Family::ipv4 : Family::ipv6;
            if (in.size() != address.size()) return std::nullopt;
            std::memcpy(address.bytes.data(), in.data(), address.size());
            return format_ip(address);
        }
        case NamedType::ipv4_subnet:
        case NamedType::ipv6_subnet: {
            Subnet subnet;
            subnet.address.family = named == NamedType::ipv4_subnet ? Family::ipv4 : Family::ipv6;
            if (in.size() != 4 + subnet.address.size()) return std::nullopt;
            std::uint32_t prefix_len;
            std::memcpy(&prefix_len, in.data(), 4);  // host order, as the LPM trie keeps it
            subnet.prefix_len = prefix_len;
            std::memcpy(subnet.address.bytes.data(), in.data() + 4, subnet.address.size());
            return format_subnet(subnet);
        }
        case NamedType::port:
            if (in.size() != 2) return std::nullopt;
            return read_unsigned(in, true);
        case NamedType::ifindex: {
            if (in.size() != 4) return std::nullopt;
            auto index = static_cast<std::uint32_t>(read_unsigned(in));
            char name[IF_NAMESIZE];
            if (index != 0 && if_indextoname(index, name)) return std::string(name);
            return index;
        }
        case NamedType::none:
        case NamedType::be_int:
            break;
        }
        return std::nullopt;
    }

    static json decode_int(const btf_type *t, std::span<const std::uint8_t> in, bool big_endian) {
        unsigned bits = btf_int_bits(t);
        if (btf_int_offset(t) != 0 || bits % 8 != 0 || bits > 64 || bits / 8 > in.size()) return hex_of(in);
        std::uint64_t value = read_unsigned(in.first(bits / 8), big_endian);
        if (btf_int_encoding(t) & BTF_INT_BOOL && value <= 1) return value == 1;
        if (btf_int_encoding(t) & BTF_INT_SIGNED) return sign_extend(value, bits);
        return value;
    }

    json decode_enum(const btf_type *t, std::span<const std::uint8_t> in) const {
        std::size_t size = std::min<std::size_t>(in.size(), 8);
        std::uint64_t raw = read_unsigned(in.first(size));
        std::uint64_t mask = size >= 8 ? ~std::uint64_t(0) : (std::uint64_t(1) << (8 * size)) - 1;
        for (int i = 0; i < btf_vlen(t); ++i) {
            std::uint64_t value;
            std::uint32_t name_off;
            if (btf_is_enum64(t)) {
                value = btf_enum64_value(&btf_enum64(t)[i]);
                name_off = btf_enum64(t)[i].name_off;
            } else {
                value = static_cast<std::uint64_t>(static_cast<std::int64_t>(btf_enum(t)[i].val));
                name_off = btf_enum(t)[i].name_off;
            }
            if ((value & mask) == raw) return btf__name_by_offset(btf_, name_off);
        }
        // No enumerator has it: the number, signed as the enum is.
        if (btf_kflag(t)) return sign_extend(raw, static_cast<unsigned>(8 * size));
        return raw;
    }

    // A C string when it is one (printable, NUL-terminated, nothing after
    // the NUL) and the encoder would read it back as one; else the bytes.
    json decode_chars(const btf_type *t, std::span<const std::uint8_t> in) const {
        std::size_t length = 0;
        while (length < in.size() && in[length] != 0) ++length;
        bool c_string = length < in.size() &&
                        std::all_of(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(length),
                                    [](std::uint8_t c) { return c >= 0x20 && c < 0x7f; }) &&
                        std::all_of(in.begin() + static_cast<std::ptrdiff_t>(length), in.end(),
                                    [](std::uint8_t c) { return c == 0; });
        std::string text(reinterpret_cast<const char *>(in.data()), length);
        if (c_string && reads_back_as_chars(text)) return text;
        return decode_array(t, in);
    }

    json decode_array(const btf_type *t, std::span<const std::uint8_t> in) const {
        const struct btf_array *a = btf_array(t);
        std::size_t elem_size = size_of(a->type);
        json elements = json::array();
        for (std::size_t i = 0; i < a->nelems && elem_size > 0 && (i + 1) * elem_size <= in.size(); ++i)
            elements.push_back(decode(a->type, in.subspan(i * elem_size, elem_size)));
        return elements;
    }

    // A data section (a filter's .rodata, .data, .bss): its variables by name.
    json decode_variables(const btf_type *t, std::span<const std::uint8_t> in) const {
        json object = json::object();
        const struct btf_var_secinfo *vars = btf_var_secinfos(t);
        for (int i = 0; i < btf_vlen(t); ++i) {
            const btf_type *var = btf__type_by_id(btf_, vars[i].type);
            if (!var || !btf_is_var(var) || vars[i].offset + vars[i].size > in.size()) continue;
            object[name_of(var)] = decode(var->type, in.subspan(vars[i].offset, vars[i].size));
        }
        return object;
    }

    // Structs and unions: every field by name (a union's fields all read the
    // same bytes); bit fields as numbers.
    json decode_members(const btf_type *t, std::span<const std::uint8_t> in) const {
        json object = json::object();
        const struct btf_member *members = btf_members(t);
        for (int i = 0; i < btf_vlen(t); ++i) {
            std::string name = btf__name_by_offset(btf_, members[i].name_off);
            std::size_t bit_offset = btf_member_bit_offset(t, static_cast<std::uint32_t>(i));
            std::size_t bits = btf_member_bitfield_size(t, static_cast<std::uint32_t>(i));
            if (bits == 0) {
                if (bit_offset % 8 != 0 || bit_offset / 8 > in.size()) continue;
                object[name] = decode(members[i].type, in.subspan(bit_offset / 8));
                continue;
            }
            std::uint64_t value = 0;
            for (std::size_t bit = 0; bit < bits && bit < 64; ++bit) {
                std::size_t at = bit_offset + bit;
                if (at / 8 < in.size() && (in[at / 8] >> (at % 8)) & 1) value |= std::uint64_t(1) << bit;
            }
            NamedType named;
            const btf_type *type = btf__type_by_id(btf_, resolve(members[i].type, named));
            bool is_signed = (btf_is_int(type) && btf_int_encoding(type) & BTF_INT_SIGNED) ||
                             (btf_is_any_enum(type) && btf_kflag(type));
            object[name] = is_signed ? json(sign_extend(value, static_cast<unsigned>(bits))) : json(value);
        }
        return object;
    }
};

}  // namespace

std::vector<std::uint8_t> encode_btf_value(const struct btf *btf, std::uint32_t type_id, std::size_t size,
                                           std::string_view text, const std::string &path) {
    Bytes out(size, 0);
    if (!btf || type_id == 0) {
        auto colon = text.find(':');
        if (colon != std::string_view::npos && type_prefixes().count(text.substr(0, colon)))
            text = text.substr(colon + 1);
        if (size > 8) throw Error(path + ": the map has no BTF type information for a " + std::to_string(size) + "-byte value");
        std::uint64_t max = size == 8 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t(1) << (8 * size)) - 1;
        std::uint64_t v = parse_unsigned(text, max, std::to_string(size) + "-byte unsigned integer");
        for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
        return out;
    }
    Encoder encoder(btf);
    if (encoder.size_of(type_id) != size)
        throw Error(path + ": BTF type " + describe_btf_type(btf, type_id) + " does not match the map's size " + std::to_string(size));
    encoder.encode_text(type_id, text, out.data(), path);
    return out;
}

json decode_btf_value(const struct btf *btf, std::uint32_t type_id, std::span<const std::uint8_t> bytes) {
    if (!btf || type_id == 0) {
        if (bytes.size() <= 8) return read_unsigned(bytes);
        json raw = json::array();
        for (auto byte : bytes) raw.push_back(byte);
        return raw;
    }
    return Decoder(btf).decode(type_id, bytes);
}

std::string setting_text(const json &value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::string describe_btf_type(const struct btf *btf, std::uint32_t type_id) {
    if (!btf || type_id == 0) return "void";
    const btf_type *t = btf__type_by_id(btf, type_id);
    if (!t) return "?";
    const char *raw = btf__name_by_offset(btf, t->name_off);
    std::string name = raw ? raw : "";
    switch (btf_kind(t)) {
    case BTF_KIND_STRUCT: return "struct " + (name.empty() ? "<anon>" : name);
    case BTF_KIND_UNION: return "union " + (name.empty() ? "<anon>" : name);
    case BTF_KIND_ENUM: return "enum " + (name.empty() ? "<anon>" : name);
    case BTF_KIND_ARRAY: return describe_btf_type(btf, btf_array(t)->type) + "[" + std::to_string(btf_array(t)->nelems) + "]";
    case BTF_KIND_CONST: return "const " + describe_btf_type(btf, t->type);
    case BTF_KIND_VOLATILE: return "volatile " + describe_btf_type(btf, t->type);
    case BTF_KIND_PTR: return describe_btf_type(btf, t->type) + " *";
    default: return name.empty() ? "?" : name;
    }
}

}  // namespace alf
