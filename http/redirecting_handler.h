// redirecting_handler: answers URIs matching a pattern with a 302 (medusa's
// redirecting_handler.py).
//
//   // /old/anything -> http://example.com/new/anything
//   server->install_handler(std::make_shared<redirecting_handler>(
//       "/old/(.*)", "http://example.com/new/%s"));
//
// The pattern (a POSIX extended regex) must match the whole of the request's uri()
// (case-insensitive by default, as medusa's re.IGNORECASE); "%s" in the target is replaced by the pattern's first group (empty
// when it has none). The reply is medusa's 302 error page with the Location header.
#pragma once

#include <string>

#include "http/counter.h"
#include "http/handler.h"
#include "http/posix_regex.h"

namespace medusa::http {

class redirecting_handler : public handler {
public:
    redirecting_handler(std::string pattern, std::string redirect, bool ignore_case = true);

    bool match(http_request& request) override;
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    counter hits;

private:
    std::string pattern_;
    std::string redirect_;
    posix_regex regex_;
};

}  // namespace medusa::http
