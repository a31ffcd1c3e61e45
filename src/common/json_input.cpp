#include "common/json_input.hpp"

#include "common/error.hpp"


namespace alf {

nlohmann::json parse_json_input(std::string_view text, const std::string &what) {
    // The parser itself keeps its nesting on the heap; what walks the value
    // afterwards (dump, the encoders) recurses, so the depth stops here.
    auto bound = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json &) {
        if (depth > json_max_depth)
            throw Error(what + ": JSON nested deeper than " + std::to_string(json_max_depth) + " levels");
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), bound);
    } catch (const nlohmann::json::exception &e) {
        std::string reason = e.what();
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> after the tag.
        if (auto end = reason.find("] "); reason.starts_with("[json.exception") && end != std::string::npos)
            reason = reason.substr(end + 2);
        throw Error(what + ": not valid JSON: " + quote_input(reason));
    }
}

}  // namespace alf
