#include "common/error.hpp"

#include <cstring>

namespace alf {

Error system_error(const std::string &what, int err) {
    return Error(what + ": " + std::strerror(err), exit_system);
}

}  // namespace alf
