// virtual_handler: name-based virtual hosting (medusa's virtual_handler_with_host).
//
//   server->install_handler(std::make_shared<virtual_handler>(site_a_files, "a.example"));
//   server->install_handler(std::make_shared<virtual_handler>(site_b_files, "b.example"));
//
// Matches a request whose Host header names `hostname` (the port, if any, ignored; compared
// case-insensitively, as host names are — medusa compared exactly), and passes it to the
// wrapped handler. medusa's other virtual_handler, which compared the client's address with the
// virtual host's (a bug: it meant the local address), is not ported.
#pragma once

#include <string>
#include <string_view>

#include "http/handler.h"

namespace medusa::http {

class virtual_handler : public handler {
public:
    virtual_handler(handler_ptr inner, std::string hostname);

    bool match(http_request& request) override;
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    const std::string& hostname() const { return hostname_; }

private:
    handler_ptr handler_;
    std::string hostname_;
};

// medusa's HOST regex 'Host: ([^:/]+).*': the host part of a Host value ("a.example:8080" ->
// "a.example"); "[::1]:8080" gives "[::1]".
std::string_view host_part(std::string_view host);

}  // namespace medusa::http
