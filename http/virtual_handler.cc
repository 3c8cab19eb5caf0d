#include "http/virtual_handler.h"

#include <fmt/format.h>

#include "http/default_handler.h"
#include "http/http_request.h"

namespace medusa::http {

std::string_view host_part(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    return host.substr(0, host.find_first_of(":/"));
}

virtual_handler::virtual_handler(handler_ptr inner, std::string hostname)
    : handler_(std::move(inner)), hostname_(std::move(hostname)) {}

bool virtual_handler::match(http_request& request) {
    auto host = request.get_header("Host");
    return host && iequals(host_part(*host), hostname_);
}

void virtual_handler::handle_request(std::shared_ptr<http_request> request) {
    handler_->handle_request(std::move(request));
}

std::string virtual_handler::status() {
    return fmt::format("<li>{}<ul>{}</ul>",
                       html_escape(fmt::format("<virtual request handler for {}>", hostname_)),
                       handler_->status());
}

}  // namespace medusa::http
