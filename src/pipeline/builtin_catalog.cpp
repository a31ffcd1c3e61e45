#include "pipeline/builtin_catalog.hpp"

#include "bpf/filter_object.hpp"
#include "bpf/map_listing.hpp"
#include "common/util.hpp"
#include "compile/builtin_filters.hpp"

namespace alf {

std::string describe_builtin_filters() {
    constexpr std::size_t column = 21;
    std::string text;
    for (const auto &name : builtin_filter_names()) {
        FilterObject object = FilterObject::open(*find_builtin_filter(name), name);
        std::vector<std::string> maps;
        for (const auto &map : object.maps())
            if (!is_stats_map(map.name))
                maps.push_back(map.name + " (" + map.type + ", " + std::to_string(map.max_entries) + (map.max_entries == 1 ? " entry)" : " entries)"));
        std::string left = "  " + name;
        left.resize(std::max(left.size() + 1, column), ' ');
        text += left + builtin_filter_description(name) + "\n" + std::string(column, ' ') +
                (maps.empty() ? std::string("no maps") : "maps: " + join(maps)) + "\n";
    }
    return text;
}

}  // namespace alf
