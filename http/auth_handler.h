// auth_handler: HTTP Basic authentication in front of another handler (medusa's auth_handler.py).
//
//   auto files = std::make_shared<default_handler>(fs);
//   server->install_handler(std::make_shared<auth_handler>(
//       auth_handler::users{{"admin", "secret"}}, files, "private"));
//
// It matches what the wrapped handler matches. A request with "Authorization: Basic <base64 of
// user:password>" naming a known user and password goes on to the wrapped handler; anything else
// gets 401 with `WWW-Authenticate: Basic realm="<realm>"`. Authorization that is not valid
// base64 is a 400, as medusa. Unlike medusa, the 401 does not spoil the connection (medusa
// stopped framing input after it): a browser retries on the same connection with credentials.
// Digest authentication is not supported (medusa's was commented out).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/counter.h"
#include "http/handler.h"

namespace medusa::http {

class auth_handler : public handler {
public:
    using users = std::map<std::string, std::string, std::less<>>;

    auth_handler(users dict, handler_ptr inner, std::string realm = "default");

    bool match(http_request& request) override;
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    counter pass_count;
    counter fail_count;

private:
    void handle_unauthorized(http_request& request);

    users users_;
    handler_ptr handler_;
    std::string realm_;
};

// Standard base64 (RFC 4648, with padding; whitespace and line ends ignored, as Python's
// decodestring). nullopt on any other character or a bad length.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace medusa::http
