// Everything the command line puts into a filter's maps: sizes (--map-size),
// entries (--set, --set-file, the config file's "maps") and rules (--allow,
// --deny, --rules-file). Read and checked before the filter is loaded, so bad
// input fails before anything reaches the kernel; written after.
#pragma once

#include "common/report.hpp"
#include "inputs/map_entries.hpp"
#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace alf {

class FilterObject;

// The map and rule inputs, as the user gave them.
struct InputSettings {
    std::vector<std::string> sets;         // --set MAP,KEY,VALUE
    std::vector<std::string> set_files;    // --set-file MAP=PATH
    std::vector<std::string> map_sizes;    // --map-size MAP=N
    std::vector<MapSetting> map_entries;   // the config file's "maps"
    std::vector<std::string> allow, deny;  // --allow CIDR, --deny CIDR
    std::vector<std::string> rules_files;  // --rules-file PATH
    std::string log_rate;                  // --log-rate N: drops logged a second (<alfwrapper/stats.h>)
    bool rule_hits = false;                // --rule-hits: count the packets each rule decides

    bool has_rules() const { return !(allow.empty() && deny.empty() && rules_files.empty()); }
    bool has_map_inputs() const {
        return !(sets.empty() && set_files.empty() && map_sizes.empty() && map_entries.empty());
    }
};

// The rules of the command line, compiled; timings and findings are
// reported with -v, warnings (host bits set) always.
struct CompiledRuleSet {
    RuleSet rules;
    CompiledRules compiled;
};
CompiledRuleSet read_and_compile_rules(const InputSettings &settings, const Reporter &report);

// Before load: the drop log's budget (<alfwrapper/stats.h>) as --log-rate
// `text` gives it ("" for the default), a second for the whole filter,
// spread over the CPUs (each keeps its own window). A filter without a log
// is left as it is, unless a rate was given (Error).
void set_log_rate(FilterObject &filter, const std::string &filter_name, const std::string &text);

// Before load: alf_socket_protocol of <alfwrapper/packet.h>, the transport
// protocol every socket of the filter has (0, or a filter without it: left
// as compiled).
void set_socket_protocol(FilterObject &filter, int protocol);

class FilterInputs {
public:
    // Before load: sizes the maps, sizes the rule tables, encodes the
    // entries. `filter_name` names the filter in messages.
    static FilterInputs prepare(FilterObject &filter, const std::string &filter_name, const InputSettings &settings,
                                CompiledRuleSet rules, const Reporter &report);

    // The transport protocol every socket has (0: they differ), for
    // alf_socket_protocol of <alfwrapper/packet.h>: given to the object by
    // apply_before_load().
    void use_socket_protocol(int protocol) { socket_protocol_ = protocol; }

    // Gives an opened object, just before it is loaded, the sizes and
    // settings prepare() settled on (again for an object compiled anew: the
    // fast optimizer's program was rejected).
    void apply_before_load(FilterObject &filter) const;

    // For maps taken over from a running filter: its rule tables, whose
    // sizes apply_before_load() then gives the object (the program stays the same),
    // and the program they belong to, to which write() binds the rule list.
    void keep_rule_tables(const RuleMaps &running, int running_program_fd);

    // After write, for maps taken over from a running filter: removes from
    // every map this run gives entries to the entries it does not give (an
    // entry dropped from the command line is gone, not kept from the
    // earlier run).
    void remove_earlier_entries(FilterObject &filter) const;

    // After load: writes the rule tables and the entries.
    void write(FilterObject &filter, const Reporter &report) const;

private:
    CompiledRuleSet rules_;
    bool takes_rules_ = false;
    std::optional<RuleMaps> kept_tables_;
    int kept_program_fd_ = -1;
    std::set<std::string> user_sized_;
    std::vector<std::pair<std::string, std::uint32_t>> map_entries_max_;
    std::vector<EncodedMap> entries_;
    std::string filter_name_, log_rate_;
    bool rule_hits_ = false;
    int socket_protocol_ = 0;
};

}  // namespace alf
