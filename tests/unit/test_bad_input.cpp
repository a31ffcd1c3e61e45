// Bad input to rules, map entries and the config file: each case must stop
// with one clear message (what, on which input, the expected form), before
// anything is loaded. The binary's exit status for them is checked by the
// integration test bad_input.
#include "cli/wrapper_cli.hpp"
#include "common/error.hpp"
#include "bpf/filter_object.hpp"
#include "inputs/map_entries.hpp"
#include "inputs/map_file.hpp"
#include "inputs/rule_tables.hpp"
#include "inputs/rules.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

using namespace alf;

namespace {

const char *filter_source = R"(
#include <alfwrapper/filter.h>
#include <alfwrapper/rules.h>
enum color { RED = 1, GREEN = 2, BLUE = 40000 };
struct inner { __u8 a; __be16 port; };
struct key { __u32 id; struct inner in; char name[8]; __s16 delta; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct key); __type(value, enum color);
         __uint(max_entries, 2); } m1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct alf_ipv6_subnet); __type(value, __u8);
         __uint(max_entries, 4); __uint(map_flags, BPF_F_NO_PREALLOC); } m2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u8[4]);
         __uint(max_entries, 4); } m4 SEC(".maps");
SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
)";

std::string write_file(const std::string &name, const std::string &text) {
    static TempDir scratch("alf-bad");
    return scratch.write(name, text);
}

FilterObject &fixture() {
    static FilterObject filter = compile_test_filter(filter_source, "bad.c");
    return filter;
}

// The steps alfwrapper takes before loading, for the input of one case.
void set_entries(std::vector<std::string> sets, std::vector<std::string> set_files = {},
                 std::vector<std::string> sizes = {}) {
    FilterObject &filter = fixture();
    auto sized = apply_map_sizes(filter, sizes);
    std::vector<MapSetting> settings;
    for (const auto &spec : set_files)
        for (auto &s : read_map_file(spec)) settings.push_back(s);
    for (const auto &spec : sets) settings.push_back(parse_map_setting(spec));
    encode_map_settings(filter, settings, sized);
}

void rules(std::vector<std::string> allow, std::vector<std::string> deny = {}, std::vector<std::string> files = {}) {
    read_rules(allow, deny, files);
}

void command_line(std::vector<std::string> args) {
    std::vector<const char *> argv = {"alfwrapper"};
    for (const auto &a : args) argv.push_back(a.c_str());
    parse_wrapper_command_line(static_cast<int>(argv.size()), argv.data());
}

struct BadInput {
    const char *what;
    std::function<void()> run;
    std::vector<std::string> message_holds;
};

}  // namespace

TEST_CASE("bad input: one clear message each") {
    std::string rules_txt = write_file("networks.txt", "# office\nallow 10.0.0.0/8\npermit 10.1.0.0/16\n");
    std::string rules_junk = write_file("junk.txt", "allow 10.0.0.0/8 10.1.0.0/16\n");
    std::string rules_bare = write_file("bare.txt", "\n\ndeny\n");
    std::string entries_json = write_file("entries.json", R"([[{"id": 1}, "RED", "extra"]])");
    std::string entries_bad_json = write_file("broken.json", R"([[{"id": 1}, "RED"])");
    std::string entries_text = write_file("entries.txt", "{\"id\": 1}junk RED\n");
    std::string entries_many = write_file("many.txt", "{\"id\": 1} RED\n{\"id\": 2} RED\n{\"id\": 3} RED\n");
    std::string config_unknown = write_file("unknown.json", R"({"listen_on": "8080"})");
    std::string config_shape = write_file("shape.json", R"({"deny": {"10.0.0.0/8": true}})");

    const std::vector<BadInput> cases = {
        {"IPv4 prefix length over 32", [] { rules({"10.0.0.0/33"}); },
         {"--allow 10.0.0.0/33", "prefix length 33 exceeds 32 for an IPv4 address"}},
        {"IPv6 prefix length over 128", [] { rules({}, {"2001:db8::/129"}); },
         {"--deny 2001:db8::/129", "exceeds 128"}},
        {"trailing junk after the prefix length", [] { rules({"10.0.0.0/8x"}); },
         {"prefix length '8x' is not a number"}},
        {"not an address", [] { rules({"10.0.0.300/8"}); }, {"'10.0.0.300' is not an IP address"}},
        {"an interface scope is no rule", [] { rules({"fe80::1%eth0"}); }, {"'fe80::1%eth0' is not an IP address"}},
        {"empty rule", [] { rules({""}); }, {"--allow: the address is empty"}},
        {"rules-file line neither allow nor deny, with its line number", [&] { rules({}, {}, {rules_txt}); },
         {rules_txt + ":3:", "'permit 10.1.0.0/16' is not a rule", "'allow CIDR' or 'deny CIDR'"}},
        {"rules-file line with trailing text", [&] { rules({}, {}, {rules_junk}); },
         {rules_junk + ":1:", "unexpected text after the address: '10.1.0.0/16'"}},
        {"rules-file line without an address", [&] { rules({}, {}, {rules_bare}); },
         {rules_bare + ":3:", "'deny' names no address"}},
        {"missing rules file", [] { rules({}, {}, {"/nonexistent/networks.txt"}); },
         {"rules file /nonexistent/networks.txt: no such file"}},
        {"empty value", [] { set_entries({"m1,{\"id\":1},"}); }, {"the value is empty"}},
        {"value for a field the type lacks", [] { set_entries({"m1,{\"id\":1,\"port\":80},RED"}); },
         {"m1.key: struct key has no field 'port' (fields: id, in, name, delta)"}},
        {"integer out of range for its width, with the field path", [] { set_entries({"m1,{\"in\":{\"a\":256}},RED"}); },
         {"m1.key.in.a", "'256' is out of range for __u8"}},
        {"signed integer out of range", [] { set_entries({"m1,{\"delta\":40000},RED"}); },
         {"m1.key.delta", "'40000' is out of range for __s16", "-32768..32767"}},
        {"negative for unsigned", [] { set_entries({"m1,{\"id\":-1},RED"}); }, {"m1.key.id", "cannot be negative"}},
        {"__be16 out of range", [] { set_entries({"m1,{\"in\":{\"port\":65536}},RED"}); },
         {"m1.key.in.port", "out of range for __be16"}},
        {"unknown enumerator", [] { set_entries({"m1,{\"id\":1},PURPLE"}); },
         {"m1.value", "'PURPLE' is not an enumerator of enum color (one of: RED, GREEN, BLUE)"}},
        {"JSON of the wrong shape", [] { set_entries({"m1,[1,2],RED"}); },
         {"m1.key: a JSON array was given where struct key is expected"}},
        {"JSON that does not parse", [] { set_entries({"m1,{\"id\":,RED"}); }, {"m1.key", "is not valid JSON"}},
        {"char array too long", [] { set_entries({"m1,{\"name\":\"much too long\"},RED"}); },
         {"m1.key.name", "longer than char[8]"}},
        {"array element out of range, with its index", [] { set_entries({"m4,0,[1,2,3,256]"}); },
         {"m4.value[3]", "'256' is out of range for __u8"}},
        {"type prefix that does not match", [] { set_entries({"m4,uint16_t:0,[1,2,3,4]"}); },
         {"m4.key: the type prefix 'uint16_t:' does not match the map's type __u32"}},
        {"IPv4 subnet for an IPv6 subnet type", [] { set_entries({"m2,10.0.0.0/8,1"}); },
         {"m2.key (struct alf_ipv6_subnet", "'10.0.0.0' is not an IPv6 address"}},
        {"VALUE omitted where the filter declares no default", [] { set_entries({"m1,{\"id\":1}"}); },
         {"map m1 needs a VALUE of type enum color", "ALF_MAP_DEFAULT_VALUE"}},
        {"array index beyond the array", [] { set_entries({"m4,4,[1,2,3,4]"}); },
         {"map m4 holds 4 entries", "an index up to 4", "--map-size m4=5"}},
        {"file with more entries than the map holds", [&] { set_entries({}, {"m1=" + entries_many}); },
         {"map m1 holds 2 entries", "3 distinct keys", "--map-size m1=3"}},
        {"JSON entry of the wrong shape", [&] { set_entries({}, {"m1=" + entries_json}); },
         {entries_json + "[0]: an array of 3 elements"}},
        {"JSON entries file that does not parse", [&] { set_entries({}, {"m1=" + entries_bad_json}); },
         {entries_bad_json + ": not valid JSON"}},
        {"text entry with junk after a JSON key", [&] { set_entries({}, {"m1=" + entries_text}); },
         {entries_text + ":1:", "expected KEY [VALUE]"}},
        {"--set-file without a path", [] { set_entries({}, {"m1"}); }, {"expected MAP=PATH"}},
        {"--map-size of 0", [] { set_entries({}, {}, {"m1=0"}); }, {"--map-size m1=0", "at least 1 entry"}},
        {"--map-size not a number", [] { set_entries({}, {}, {"m1=many"}); }, {"'many' is not a number"}},
        {"--map-size for a map that does not exist", [] { set_entries({}, {}, {"m9=4"}); },
         {"no map named 'm9'", "m1, m2, m4"}},
        {"--set for a map that does not exist", [] { set_entries({"allow4,0,10.0.0.0/8"}); },
         {"--set allow4,0,10.0.0.0/8", "no map named 'allow4'"}},
        {"rule table sized for more than two rule sets",
         [] {
             FilterObject &filter = fixture();
             RuleSet set;
             CompiledRules compiled = compile_rules(set);
             filter.set_map_size("alf_rules4", 3);
             size_rule_tables(filter, compiled, {"alf_rules4"}, false);
         },
         {"--map-size alf_rules4=3", "1 rule set, or 2"}},
        {"unknown config key", [&] { command_line({"--config", config_unknown, "true"}); },
         {"config " + config_unknown + ": /listen_on: unknown key 'listen_on'"}},
        {"config value of the wrong shape", [&] { command_line({"--config", config_shape, "true"}); },
         {"/deny/10.0.0.0/8: expected a string or an integer, found a JSON boolean"}},
    };
    CHECK(cases.size() >= 25);
    for (const auto &c : cases) {
        std::string what = c.what;
        CAPTURE(what);
        std::string message = "(no error)";
        int status = 0;
        try {
            c.run();
        } catch (const Error &e) {
            message = e.what();
            status = e.exit_status();
        }
        CAPTURE(message);
        CHECK(status == exit_usage);
        CHECK(message.find('\n') == std::string::npos);
        for (const auto &needle : c.message_holds) CHECK(message.find(needle) != std::string::npos);
    }
}

TEST_CASE("host bits set: accepted and masked, with a warning") {
    RuleSet set = read_rules({"127.0.0.1/24"}, {"2001:db8::1/32"}, {});
    REQUIRE(set.warnings.size() == 2);
    CHECK(set.warnings[0] == "--allow 127.0.0.1/24: host bits set; using 127.0.0.0/24");
    CHECK(set.warnings[1] == "--deny 2001:db8::1/32: host bits set; using 2001:db8::/32");
}
