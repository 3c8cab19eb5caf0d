#include "http/auth_handler.h"

#include <fmt/format.h>

#include "http/http_request.h"

namespace medusa::http {

std::optional<std::string> base64_decode(std::string_view in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0, count = 0, pad = 0;
    for (char c : in) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '=') {
            ++pad;
            ++count;
            continue;
        }
        int v = value(c);
        if (v < 0 || pad) return std::nullopt;  // a bad character, or data after padding
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        ++count;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xff));
        }
    }
    if (count % 4 != 0 || pad > 2) return std::nullopt;
    return out;
}

auth_handler::auth_handler(users dict, handler_ptr inner, std::string realm)
    : users_(std::move(dict)), handler_(std::move(inner)), realm_(std::move(realm)) {}

bool auth_handler::match(http_request& request) { return handler_->match(request); }

void auth_handler::handle_request(std::shared_ptr<http_request> request) {
    // medusa's AUTHORIZATION regex: 'Authorization: ([^ ]+) (.*)' — a scheme, a space, the rest.
    auto value = request->get_header("Authorization");
    size_t sp = value ? value->find(' ') : std::string_view::npos;
    if (!value || sp == 0 || sp == std::string_view::npos) {
        handle_unauthorized(*request);
        return;
    }
    std::string_view scheme = value->substr(0, sp);
    std::string_view cookie = value->substr(sp + 1);
    if (!iequals(scheme, "basic")) {
        handle_unauthorized(*request);
        return;
    }
    auto decoded = base64_decode(cookie);
    if (!decoded) {
        request->error(400);
        return;
    }
    size_t colon = decoded->find(':');
    std::string_view user = std::string_view(*decoded).substr(0, colon);
    std::string_view password =
        colon == std::string::npos ? std::string_view() : std::string_view(*decoded).substr(colon + 1);
    auto it = users_.find(user);
    // medusa unpacks [username, password] and fails without a colon.
    if (colon != std::string::npos && it != users_.end() && it->second == password) {
        pass_count.increment();
        handler_->handle_request(std::move(request));
    } else {
        handle_unauthorized(*request);
    }
}

void auth_handler::handle_unauthorized(http_request& request) {
    fail_count.increment();
    request.set("WWW-Authenticate", fmt::format("Basic realm=\"{}\"", realm_));
    request.error(401);
}

std::string auth_handler::status() {
    return fmt::format("<li>Authorization Extension : <b>Unauthorized requests:</b> {}<ul>{}</ul>",
                       fail_count.as_long(), handler_->status());
}

}  // namespace medusa::http
