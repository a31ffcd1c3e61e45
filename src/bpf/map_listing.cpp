#include "bpf/map_listing.hpp"

#include "bpf/btf_values.hpp"
#include "bpf/filter_object.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace alf {

namespace {

// Integer typedefs every filter author knows: not spelled out.
bool is_well_known_typedef(const std::string &name) {
    static const std::set<std::string> names = {
        "__u8",   "__u16",   "__u32",   "__u64",   "__s8",    "__s16",    "__s32",    "__s64",    "__be16",
        "__be32", "__be64",  "__le16",  "__le32",  "__le64",  "uint8_t",  "uint16_t", "uint32_t", "uint64_t",
        "int8_t", "int16_t", "int32_t", "int64_t", "size_t",  "__sum16",  "__wsum",   "bool"};
    return names.count(name) > 0;
}

class TypePrinter {
public:
    explicit TypePrinter(const struct btf *btf) : btf_(btf) {}

    // Prints the definitions `id` depends on (once each), dependencies first.
    void define(std::uint32_t id) {
        for (;;) {
            const btf_type *t = btf__type_by_id(btf_, id);
            if (!t || id == 0) return;
            if (btf_is_array(t)) {
                id = btf_array(t)->type;
            } else if (btf_is_mod(t) || btf_is_ptr(t)) {
                id = t->type;
            } else {
                break;
            }
        }
        if (!done_.insert(id).second) return;
        const btf_type *t = btf__type_by_id(btf_, id);
        std::string name = btf__name_by_offset(btf_, t->name_off);
        if (btf_is_typedef(t)) {
            define(t->type);
            if (!is_well_known_typedef(name))
                out_ << "typedef " << declarator(t->type, name, 0) << ";\n";
        } else if (btf_is_composite(t)) {
            for (int i = 0; i < btf_vlen(t); ++i) define_member_types(btf_members(t)[i].type);
            if (!name.empty()) out_ << body(id, 0) << ";\n";
        } else if (btf_is_enum(t) && !name.empty()) {
            out_ << body(id, 0) << ";\n";
        }
    }

    std::string text() const { return out_.str(); }

private:
    // Members of anonymous types are printed inline, so define what they use.
    void define_member_types(std::uint32_t id) {
        const btf_type *t = btf__type_by_id(btf_, id);
        while (t && (btf_is_array(t) || btf_is_mod(t))) {
            id = btf_is_array(t) ? btf_array(t)->type : t->type;
            t = btf__type_by_id(btf_, id);
        }
        if (t && (btf_is_composite(t) || btf_is_enum(t)) && t->name_off == 0) {
            if (btf_is_composite(t))
                for (int i = 0; i < btf_vlen(t); ++i) define_member_types(btf_members(t)[i].type);
            return;
        }
        define(id);
    }

    // "struct key {\n\t__u32 id;\n}" / "enum color { RED = 1, ... }".
    std::string body(std::uint32_t id, int depth) {
        const btf_type *t = btf__type_by_id(btf_, id);
        std::string name = btf__name_by_offset(btf_, t->name_off);
        std::ostringstream s;
        if (btf_is_enum(t)) {
            s << "enum " << name << (name.empty() ? "{ " : " { ");
            for (int i = 0; i < btf_vlen(t); ++i)
                s << (i ? ", " : "") << btf__name_by_offset(btf_, btf_enum(t)[i].name_off) << " = "
                  << btf_enum(t)[i].val;
            s << " }";
            return s.str();
        }
        std::string indent(static_cast<std::size_t>(depth) + 1, '\t');
        s << (btf_is_union(t) ? "union " : "struct ") << name << (name.empty() ? "{\n" : " {\n");
        for (int i = 0; i < btf_vlen(t); ++i) {
            const btf_member &m = btf_members(t)[i];
            s << indent << declarator(m.type, btf__name_by_offset(btf_, m.name_off), depth + 1);
            if (btf_member_bitfield_size(t, static_cast<std::uint32_t>(i)))
                s << " : " << btf_member_bitfield_size(t, static_cast<std::uint32_t>(i));
            s << ";\n";
        }
        s << std::string(static_cast<std::size_t>(depth), '\t') << "}";
        return s.str();
    }

    // "char name[8]", "struct inner in", an anonymous struct spelled out.
    std::string declarator(std::uint32_t id, const std::string &name, int depth) {
        std::string dims;
        const btf_type *t = btf__type_by_id(btf_, id);
        while (t && btf_is_array(t)) {
            dims += "[" + std::to_string(btf_array(t)->nelems) + "]";
            id = btf_array(t)->type;
            t = btf__type_by_id(btf_, id);
        }
        std::string type = t && (btf_is_composite(t) || btf_is_enum(t)) && t->name_off == 0 ? body(id, depth)
                                                                                            : describe_btf_type(btf_, id);
        return type + (name.empty() ? "" : " " + name) + dims;
    }

    const struct btf *btf_;
    std::set<std::uint32_t> done_;
    std::ostringstream out_;
};

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

std::string flag_names(std::uint32_t flags) {
    static const std::pair<std::uint32_t, const char *> known[] = {
        {1u << 0, "BPF_F_NO_PREALLOC"}, {1u << 1, "BPF_F_NO_COMMON_LRU"}, {1u << 2, "BPF_F_NUMA_NODE"},
        {1u << 3, "BPF_F_RDONLY"},      {1u << 4, "BPF_F_WRONLY"},        {1u << 7, "BPF_F_RDONLY_PROG"},
        {1u << 8, "BPF_F_WRONLY_PROG"}, {1u << 10, "BPF_F_MMAPABLE"},     {1u << 12, "BPF_F_INNER_MAP"}};
    std::string names;
    for (auto [bit, name] : known)
        if (flags & bit) {
            names += (names.empty() ? "" : " | ") + std::string(name);
            flags &= ~bit;
        }
    if (flags) names += (names.empty() ? "" : " | ") + std::to_string(flags);
    return names;
}

std::string bytes(std::uint32_t count) { return std::to_string(count) + (count == 1 ? " byte" : " bytes"); }

}  // namespace

std::string describe_maps(const FilterObject &filter) {
    const struct btf *btf = filter.btf();
    TypePrinter types(btf);
    std::ostringstream maps;
    std::size_t count = 0;
    for (bpf_map *map : filter.declared_maps()) {
        std::string name = bpf_map__name(map);
        if (is_stats_map(name)) continue;  // alfctl stats and log show them
        ++count;
        std::uint32_t key_type = bpf_map__btf_key_type_id(map), value_type = bpf_map__btf_value_type_id(map);
        if (btf && key_type) types.define(key_type);
        if (btf && value_type) types.define(value_type);
        maps << "struct {\n\t__uint(type, BPF_MAP_TYPE_" << upper(libbpf_bpf_map_type_str(bpf_map__type(map))) << ");\n";
        if (btf && key_type)
            maps << "\t__type(key, " << describe_btf_type(btf, key_type) << ");\t/* " << bytes(bpf_map__key_size(map))
                 << " */\n";
        else if (bpf_map__key_size(map))
            maps << "\t__uint(key_size, " << bpf_map__key_size(map) << ");\n";
        if (btf && value_type)
            maps << "\t__type(value, " << describe_btf_type(btf, value_type) << ");\t/* "
                 << bytes(bpf_map__value_size(map)) << " */\n";
        else if (bpf_map__value_size(map))
            maps << "\t__uint(value_size, " << bpf_map__value_size(map) << ");\n";
        maps << "\t__uint(max_entries, " << bpf_map__max_entries(map) << ");\n";
        if (bpf_map__map_flags(map)) maps << "\t__uint(map_flags, " << flag_names(bpf_map__map_flags(map)) << ");\n";
        maps << "} " << name << ";";
        std::vector<std::string> notes;
        if (!declared_default_value(filter, name).empty()) notes.push_back("VALUE may be omitted (ALF_MAP_DEFAULT_VALUE)");
        if (!filter.global_value("alf_resizable__" + name).empty()) notes.push_back("resizable");
        if (!filter.global_value("alf_slots__" + name).empty()) notes.push_back("slots: fill from 0 without gaps");
        if (name.starts_with("alf_rules")) notes.push_back("filled from --allow, --deny and --rules-file");
        for (std::size_t i = 0; i < notes.size(); ++i) maps << (i ? "; " : "\t/* ") << notes[i];
        maps << (notes.empty() ? "\n" : " */\n");
    }
    std::string type_text = types.text();
    std::string header = "/* filter " + filter.name() + ": " + std::to_string(count) + (count == 1 ? " map" : " maps") + " */\n";
    return header + type_text + (type_text.empty() ? "" : "\n") + maps.str();
}

namespace {

const OwnMap own_maps[] = {
    {"alf_rules4", "rules", "alfwrapper keeps the service's rules in it, in its own layout"},
    {"alf_rules6", "rules", "alfwrapper keeps the service's rules in it, in its own layout"},
    {"alf_rules_state", "rules", "alfwrapper keeps the service's rules in it, in its own layout"},
    {"alf_rule_list", "rules", "alfwrapper keeps the service's rules in it, in its own layout"},
    {"alf_stats", "stats", "the filter counts what it passed and dropped in it"},
    {"alf_rule_hits", "stats", "the filter counts the packets each rule decided in it (--rule-hits)"},
    {"alf_log", "log", "the filter logs its drops in it"},
    {"alf_log_state", "log", "the filter keeps its drop log's place and rate in it"},
};

}  // namespace

const OwnMap *alfwrapper_map(std::string_view name) {
    for (const auto &map : own_maps)
        if (name == map.name) return &map;
    return nullptr;
}

bool is_stats_map(std::string_view name) {
    const OwnMap *map = alfwrapper_map(name);
    return map && std::string_view(map->verb) != "rules";
}

}  // namespace alf
