#include "http/keepalive.h"

#include "http/request_parser.h"

namespace medusa::http {

http_version classify_version_in_full(std::string_view version, bool has_version) {
    // ("1.1" and "1.0" are taken inline by classify_version(), before this.)
    if (!has_version) return http_version::none;
    size_t dot = version.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == version.size())
        return http_version::unsupported;
    std::string_view major = version.substr(0, dot), minor = version.substr(dot + 1);
    if (minor.find('.') != std::string_view::npos) return http_version::unsupported;
    // Leading zeros are allowed ("01.1" is odd but unambiguous); only the values matter.
    auto value = [](std::string_view digits) {
        unsigned v = 0;
        for (char c : digits) {
            v = v * 10 + unsigned(c - '0');
            if (v > 1000) return 1000u;
        }
        return v;
    };
    unsigned maj = value(major), min = value(minor);
    if (maj == 0) return http_version::http10;  // HTTP/0.9 with a version: treat as 1.0
    if (maj != 1) return http_version::unsupported;
    return min == 0 ? http_version::http10 : http_version::http11;
}

std::string_view status_line_version(http_version v) {
    return v == http_version::http11 || v == http_version::unsupported ? "1.1" : "1.0";
}

void parse_connection(std::string_view value, connection_tokens& t) {
    while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view token = value.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (iequals(token, "close")) t.close = true;
        if (iequals(token, "keep-alive")) t.keep_alive = true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

keepalive_decision decide_keepalive(const keepalive_input& in) {
    keepalive_decision d;
    // A body-less reply is framed by definition, as if it had a Content-Length (row 8).
    bool framed = in.has_content_length || in.bodyless;
    switch (in.version) {
        case http_version::none:
        case http_version::unsupported:
            d.close = true;
            break;
        case http_version::http10:
            if (in.connection.keep_alive && !in.connection.close && framed) {
                d.header = connection_header::keep_alive;
            } else {
                d.close = true;
            }
            break;
        case http_version::http11:
            if (in.connection.close) {
                d.close = true;
            } else if (!framed) {
                if (in.reply_coding == transfer_coding::chunked) {
                    // the handler does its own chunking
                } else if (in.reply_coding == transfer_coding::other) {
                    d.close = true;
                } else if (in.use_chunked) {
                    d.chunk = true;
                } else {
                    d.close = true;
                }
            }
            break;
    }
    if (in.force_close) d.close = true;
    d.client_closes =
        d.close && !in.force_close &&
        (in.connection.close || ((in.version == http_version::http10 ||
                                  in.version == http_version::none) &&
                                 !in.connection.keep_alive));
    if (d.close) {
        // The end of the connection delimits the body: no chunking needed.
        d.chunk = false;
        d.header = connection_header::close;
    }
    return d;
}

bool reply_is_bodyless(std::string_view command, int code) {
    return command == "HEAD" || (code >= 100 && code < 200) || code == 204 || code == 304;
}

}  // namespace medusa::http
