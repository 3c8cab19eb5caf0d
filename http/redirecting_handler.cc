#include "http/redirecting_handler.h"

#include <fmt/format.h>

#include "http/default_handler.h"
#include "http/http_request.h"

namespace medusa::http {

redirecting_handler::redirecting_handler(std::string pattern, std::string redirect,
                                         bool ignore_case)
    : pattern_(std::move(pattern)),
      redirect_(std::move(redirect)),
      regex_(pattern_, ignore_case) {}

bool redirecting_handler::match(http_request& request) {
    return regex_.full_match(request.uri()).has_value();
}

void redirecting_handler::handle_request(std::shared_ptr<http_request> request) {
    hits.increment();
    std::string part;
    if (auto groups = regex_.full_match(request->uri()); groups && !groups->empty())
        part = (*groups)[0];
    std::string location = redirect_;
    size_t at = location.find("%s");
    if (at != std::string::npos) location.replace(at, 2, part);
    request->set("Location", location);
    request->error(302);
}

std::string redirecting_handler::status() {
    return fmt::format("<li> Redirecting Handler {} => {} <b>Hits</b>: {}", html_escape(pattern_),
                       html_escape(redirect_), hits.as_long());
}

}  // namespace medusa::http
