#include "cgi/cgi_env.h"

#include <fmt/format.h>

#include <cstdlib>
#include <map>

namespace medusa::cgi {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// The variables being built, kept sorted by name: the output order.
using variables = std::map<std::string, std::string, std::less<>>;

// Adds a header's value under `name`, merging a repeated one in arrival order.
void merge(variables& vars, std::string name, std::string_view value) {
    auto it = vars.find(name);
    if (it == vars.end()) {
        vars.emplace(std::move(name), std::string(value));
        return;
    }
    it->second.append(name == "HTTP_COOKIE" ? "; " : ", ");
    it->second.append(value);
}

// "host:8080" -> "host", "[::1]:8080" -> "[::1]" (medusa cut at the first ':', which turned an
// IPv6 literal into "[").
std::string_view strip_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    return host.substr(0, host.find(':'));
}

void pass_server_environment(variables& vars, const env_options& o) {
    for (const auto& name : o.pass_through) {
        if (const char* v = std::getenv(name.c_str())) vars.insert_or_assign(name, v);
    }
}

variables rfc3875(const request_meta& r) {
    variables vars;
    std::string_view auth;
    for (const auto& [name, value] : r.headers) {
        if (iequal(name, "Authorization")) {
            if (auth.empty()) auth = value;
            continue;
        }
        if (iequal(name, "Proxy-Authorization") || iequal(name, "Content-Length") ||
            iequal(name, "Content-Type") || iequal(name, "Proxy"))
            continue;
        if (auto var = http_variable_name(name)) merge(vars, std::move(*var), value);
    }
    if (!r.auth_type.empty()) {
        vars["AUTH_TYPE"] = r.auth_type;
    } else if (!auth.empty() && !auth_scheme(auth).empty()) {
        vars["AUTH_TYPE"] = auth_scheme(auth);
    }
    if (r.content_length) vars["CONTENT_LENGTH"] = fmt::format("{}", *r.content_length);
    if (!r.content_type.empty()) vars["CONTENT_TYPE"] = r.content_type;
    if (!r.document_root.empty()) vars["DOCUMENT_ROOT"] = r.document_root;
    vars["GATEWAY_INTERFACE"] = "CGI/1.1";
    if (!r.path_info.empty()) {
        vars["PATH_INFO"] = r.path_info;
        if (!r.path_translated.empty()) vars["PATH_TRANSLATED"] = r.path_translated;
    }
    vars["QUERY_STRING"] = r.query;
    vars["REMOTE_ADDR"] = r.remote_addr;
    vars["REMOTE_HOST"] = r.remote_addr;
    vars["REMOTE_PORT"] = fmt::format("{}", r.remote_port);
    vars["REQUEST_METHOD"] = r.method;
    vars["REQUEST_URI"] = r.request_uri;
    vars["SCRIPT_NAME"] = r.script_name;
    vars["SERVER_NAME"] = r.server_name;
    vars["SERVER_PORT"] = fmt::format("{}", r.server_port);
    vars["SERVER_PROTOCOL"] = r.version.empty() ? std::string("HTTP/0.9")
                                                : fmt::format("HTTP/{}", r.version);
    vars["SERVER_SOFTWARE"] = r.server_software;
    return vars;
}

variables medusa_style(const request_meta& r) {
    variables vars;
    std::string_view path = r.path;
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    vars["REQUEST_URI"] = fmt::format("/{}", path);
    // medusa upper-cased the method; methods are case-sensitive (RFC 9110 §9.1, QUIRKS row 27),
    // so a script sees the method the client sent.
    vars["REQUEST_METHOD"] = std::string(r.method);
    vars["SERVER_PORT"] = fmt::format("{}", r.server_port);
    vars["SERVER_NAME"] = r.server_name;
    vars["SERVER_SOFTWARE"] = r.server_software;
    vars["DOCUMENT_ROOT"] = r.document_root;
    vars["SCRIPT_NAME"] = r.script_name;
    vars["QUERY_STRING"] = r.query;
    vars["PATH_INFO"] = r.path_info;
    vars["GATEWAY_INTERFACE"] = "CGI/1.1";
    vars["REMOTE_ADDR"] = r.remote_addr;
    vars["REMOTE_HOST"] = r.remote_addr;

    // medusa's header2env table; a header it does not name becomes HTTP_NAME. The headers are
    // merged among themselves first, then written over the variables above, as medusa's
    // env[key] = value did.
    variables from_headers;
    for (const auto& [name, value] : r.headers) {
        if (iequal(name, "Proxy")) continue;
        std::string var;
        if (iequal(name, "Content-Length")) {
            var = "CONTENT_LENGTH";
        } else if (iequal(name, "Content-Type")) {
            var = "CONTENT_TYPE";
        } else if (iequal(name, "Connection")) {
            var = "CONNECTION_TYPE";
        } else if (auto v = http_variable_name(name)) {
            var = std::move(*v);
        } else {
            continue;
        }
        merge(from_headers, std::move(var), value);
    }
    for (auto& [k, v] : from_headers) vars.insert_or_assign(k, std::move(v));

    // medusa removes every empty variable; QUERY_STRING is kept (RFC 3875 4.1.7, row 29).
    for (auto it = vars.begin(); it != vars.end();) {
        if (it->second.empty() && it->first != "QUERY_STRING") {
            it = vars.erase(it);
        } else {
            ++it;
        }
    }
    if (auto it = vars.find("HTTP_HOST"); it != vars.end()) it->second = strip_port(it->second);
    return vars;
}

}  // namespace

std::optional<std::string> http_variable_name(std::string_view header_name) {
    if (header_name.empty()) return std::nullopt;
    std::string var = "HTTP_";
    var.reserve(5 + header_name.size());
    for (char c : header_name) {
        if (c >= 'a' && c <= 'z') {
            var.push_back(char(c - 'a' + 'A'));
        } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            var.push_back(c);
        } else if (c == '-') {
            var.push_back('_');
        } else {
            return std::nullopt;
        }
    }
    return var;
}

std::string_view auth_scheme(std::string_view authorization) {
    while (!authorization.empty() && (authorization.front() == ' ' || authorization.front() == '\t'))
        authorization.remove_prefix(1);
    size_t end = authorization.find_first_of(" \t");
    return authorization.substr(0, end);
}

std::vector<std::string> build_environment(const request_meta& r, const env_options& o) {
    variables vars = o.style == env_style::medusa ? medusa_style(r) : rfc3875(r);
    pass_server_environment(vars, o);
    std::vector<std::string> out;
    out.reserve(vars.size());
    for (const auto& [k, v] : vars) {
        std::string kv;
        kv.reserve(k.size() + 1 + v.size());
        kv.append(k).append("=").append(v);
        out.push_back(std::move(kv));
    }
    return out;
}

}  // namespace medusa::cgi
