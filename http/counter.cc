// counter: see counter.h.
#include "http/counter.h"

#include <fmt/format.h>

namespace medusa::http {

std::string counter::to_string() const { return fmt::format("{}", as_long()); }

}  // namespace medusa::http
