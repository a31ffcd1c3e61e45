#include "pipeline/filter_pipeline.hpp"

#include "bpf/map_listing.hpp"
#include "common/error.hpp"
#include "pipeline/delegated_limits.hpp"

#include <bpf/libbpf.h>

namespace alf {

FilterPipeline::FilterPipeline(const Configuration &config, const Reporter &report)
    : config_(config), report_(report), access_(assess_bpf_access(report.program)) {
    require_trusted_inputs(config_, access_);
}

const CompiledRuleSet &FilterPipeline::read_rules() {
    if (!rules_) rules_ = read_and_compile_rules(config_.inputs, report_);
    return *rules_;
}

Backend FilterPipeline::backend() {
    if (!backend_) backend_ = choose_backend(config_, access_, report_);
    return *backend_;
}

FilterBuilder make_filter_builder(const Configuration &config, const Reporter &report, Optimization optimization,
                                  bool builtin_only) {
    return FilterBuilder({config.filter, config.defines, config.include_dirs, builtin_only},
                         {.color = stderr_wants_color(),
                          .use_cache = !config.no_cache,
                          .cache_dir = config.cache_dir,
                          .optimization = optimization},
                         report);
}

std::string FilterPipeline::describe_maps() {
    read_rules();
    FilterBytes bytes = make_filter_builder(config_, report_, Optimization::fast, access_.delegated()).obtain();
    auto opened = FilterObject::open(bytes.object, config_.filter);
    FilterInputs::prepare(opened, config_.filter, config_.inputs, *rules_, report_);
    return alf::describe_maps(opened);
}

LoadedFilter FilterPipeline::load() {
    read_rules();
    FilterBuilder builder = make_filter_builder(config_, report_, Optimization::fast, access_.delegated());
    FilterBytes bytes = builder.obtain();

    // Checked and encoded against the object before anything is loaded.
    auto opened = FilterObject::open(bytes.object, config_.filter);
    if (rules_->rules.empty() && bytes.origin == FilterBytes::Origin::builtin && config_.filter == "subnets")
        throw Error("filter subnets needs rules: give --allow CIDR, --deny CIDR or --rules-file PATH");
    auto inputs = FilterInputs::prepare(opened, config_.filter, config_.inputs, std::move(*rules_), report_);
    rules_.reset();
    if (access_.delegated())
        require_within_limits(opened.maps(), read_delegated_limits(), libbpf_num_possible_cpus(), access_.tool);

    auto load_object = [&](FilterObject filter) {
        inputs.apply_sizes(filter);
        filter.load(config_.program);
        return filter;
    };
    std::optional<FilterObject> loaded;
    try {
        loaded.emplace(load_object(std::move(opened)));
    } catch (const VerifierRejection &) {
        if (!builder.may_compile_fuller(bytes)) throw;
        report_.info("the verifier rejected the program the fast optimizer made; compiling with the full optimizer");
        bytes = builder.compile_fuller();
        loaded.emplace(load_object(FilterObject::open(bytes.object, config_.filter)));
    }
    report_.info("loaded program '" + loaded->program_name() + "' (" +
                 std::to_string(loaded->program_instructions()) + " instructions)");
    inputs.write(*loaded, report_);
    return {std::move(*loaded), std::move(bytes)};
}

ClassicRules FilterPipeline::classic_program() {
    const CompiledRuleSet &rules = read_rules();
    ClassicRules classic = compile_rules_classic(rules.rules, rules.compiled);
    report_.info("classic BPF program: " + std::to_string(classic.program.instructions.size()) + " instructions (of " +
                 std::to_string(classic_max_instructions) + "), " + std::to_string(classic.ipv4_segments) +
                 " IPv4 and " + std::to_string(classic.ipv6_segments) + " IPv6 address segments");
    return classic;
}

}  // namespace alf
