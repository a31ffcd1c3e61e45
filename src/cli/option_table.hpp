// The one option table of both tools, and the glue that turns (a part of) it
// into a parser, help lines and config-file keys. Options that mean the same
// in alfwrapper and alfctl are one entry, spelled the same.
#pragma once

#include "pipeline/configuration.hpp"

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace alf {

// Which tool (alfwrapper, or an alfctl verb) takes an option.
enum ToolMask : unsigned {
    for_wrapper = 1u << 0,
    for_compile = 1u << 1,
    for_check = 1u << 2,
    for_test = 1u << 3,
    for_list = 1u << 4,
    for_filters = 1u << 5,  // alfctl filters
    for_headers = 1u << 6,  // alfctl headers
    for_rules = 1u << 7,    // alfctl rules
    for_stats = 1u << 8,    // alfctl stats
    for_log = 1u << 9,      // alfctl log
    for_map = 1u << 10,     // alfctl map
    for_live = for_rules | for_stats | for_log | for_map,
    for_loading = for_check | for_test,
    for_ctl = for_compile | for_check | for_test | for_list,
    for_all = for_wrapper | for_ctl,
};

struct OptionDef {
    const char *short_name;  // "" when none
    const char *long_name;
    const char *argument;    // nullptr for a flag
    bool repeatable;
    unsigned tools;
    const char *help;
};

std::span<const OptionDef> option_table();

// The entry of `tool` a long name names, or nullptr.
const OptionDef *find_long_option(std::string_view name, unsigned tool);

// The option an argument spells ("--set", "--set=x", "-f", "-fX"), among
// those `tool` takes; nullptr when none.
const OptionDef *find_option(std::string_view argument, unsigned tool);

// Whether the option is given with its value in the same argument
// ("--port=80", "-DX").
bool value_attached(std::string_view argument);

// "  -f, --filter FILE|NAME     help ..." lines for every option of `tool`.
std::string option_help(unsigned tool);

// The arguments parsed by the options of `tool`, the GNU way ("--name
// VALUE", "--name=VALUE", "-x VALUE", "-xVALUE", "-vq", "--" ends the
// options); positional arguments are collected when `positional` is set,
// else refused. No regular expression ever sees the user's text. Throws
// Error naming `usage_hint` ("see alfctl test --help").
class ParsedOptions {
public:
    ParsedOptions(unsigned tool, const std::vector<std::string> &arguments, bool positional,
                  const std::string &usage_hint);

    bool has(std::string_view name) const;
    // A value option given more than once: the last one.
    void get(std::string_view name, std::string &out) const;
    void get(std::string_view name, std::vector<std::string> &out) const;
    const std::vector<std::string> &positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>, std::less<>> values_;  // by long name; a flag: one ""
    std::vector<std::string> positional_;
};

// Fills every field of the configuration whose option was given.
void read_configuration(const ParsedOptions &options, Configuration &config);

}  // namespace alf
