#include "compile/builtin_filters.hpp"

#include "compile/embedded.hpp"

namespace alf {

extern const EmbeddedFile alf_builtin_filters[];
extern const std::size_t alf_builtin_filters_count;
extern const BuiltinFilterDescription alf_builtin_filter_descriptions[];
extern const std::size_t alf_builtin_filter_descriptions_count;

std::optional<std::span<const std::uint8_t>> find_builtin_filter(const std::string &name) {
    const std::string file = name + ".o";
    for (std::size_t i = 0; i < alf_builtin_filters_count; ++i)
        if (file == alf_builtin_filters[i].path)
            return std::span<const std::uint8_t>(alf_builtin_filters[i].data, alf_builtin_filters[i].size);
    return std::nullopt;
}

std::vector<std::string> builtin_filter_names() {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < alf_builtin_filters_count; ++i) {
        std::string file = alf_builtin_filters[i].path;
        names.push_back(file.substr(0, file.size() - 2));
    }
    return names;
}

std::string builtin_filter_description(const std::string &name) {
    for (std::size_t i = 0; i < alf_builtin_filter_descriptions_count; ++i)
        if (name == alf_builtin_filter_descriptions[i].name) return alf_builtin_filter_descriptions[i].description;
    return {};
}

}  // namespace alf
