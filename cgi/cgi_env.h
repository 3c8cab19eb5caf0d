// cgi_env: the environment a CGI script runs with (RFC 3875 section 4.1, "meta-variables"),
// built from a neutral description of the request. One builder serves both ways medusa runs
// scripts: the CGI/1.1 handler (cgi_handler.h), which execs a program with this environment, and
// the thread handler (thread/), which hands it to an in-process script as medusa's `env` dict.
//
// The input is a plain struct (request_meta), so the builder knows nothing of sockets or
// http_request and a test can state a request in a few lines. The output is a list of "K=V"
// strings sorted by name (byte order): exactly what execve() takes, and stable for a test to
// compare.
//
// Two styles:
//
// rfc3875 (the CGI/1.1 handler):
//   AUTH_TYPE          the Authorization header's scheme ("Basic"), when the request has one
//   CONTENT_LENGTH     the body's length (after de-chunking), when it is known and there is a body
//   CONTENT_TYPE       the Content-Type header, when present
//   GATEWAY_INTERFACE  CGI/1.1
//   PATH_INFO          the decoded extra path after the script's name ("/a b"), when there is one
//   PATH_TRANSLATED    path_translated, when given (the handler maps PATH_INFO onto a document root)
//   QUERY_STRING       the query as received, without '?'; ALWAYS set, "" when there is none
//                      (RFC 3875 4.1.7; medusa deleted it when empty: QUIRKS row 29)
//   REMOTE_ADDR, REMOTE_PORT, REMOTE_HOST (the address: no DNS in the loop)
//   REQUEST_METHOD     as received (methods are case-sensitive: "post" stays "post")
//   REQUEST_URI        the request target as received, query included (common practice: Apache,
//                      lighttpd; not in the RFC)
//   SCRIPT_NAME, SERVER_NAME, SERVER_PORT, SERVER_SOFTWARE
//   SERVER_PROTOCOL    "HTTP/1.1"; "HTTP/0.9" for a request line without a version
//   DOCUMENT_ROOT      when given (common practice)
//   HTTP_*             one per request header name: upper-cased, '-' turned into '_'
//                      ("User-Agent" -> HTTP_USER_AGENT). Repeated names are merged in order
//                      with ", " (RFC 3875 4.1.18 MUST; Cookie with "; ", the separator RFC 6265
//                      gives it). Left out:
//                        - Authorization and Proxy-Authorization: credentials are not for every
//                          script (RFC 3875 4.1.18 says the server should not pass them);
//                        - Content-Length and Content-Type: they are CONTENT_LENGTH/CONTENT_TYPE;
//                        - Proxy: a client's "Proxy: http://evil:8080" would become HTTP_PROXY,
//                          which most HTTP libraries read as their outgoing proxy ("httpoxy",
//                          CVE-2016-5385 and friends);
//                        - a name holding anything but letters, digits and '-' ("X_Forwarded_For"
//                          would collide with "X-Forwarded-For"; nginx and Apache 2.4 drop them).
//   the server's own environment: only the names in env_options::pass_through (PATH by default),
//   so no secret of the server's environment (a token, a password) reaches a script.
//
// medusa (the thread handler; thread/thread_handler.py's mapping, QUIRKS row 29):
//   REQUEST_URI is "/" + the decoded path without leading slashes (no query); REQUEST_METHOD is
//   the method as sent (medusa upper-cased it; methods are case-sensitive, RFC 9110 §9.1);
//   SERVER_PORT, SERVER_NAME, SERVER_SOFTWARE, DOCUMENT_ROOT, SCRIPT_NAME,
//   QUERY_STRING, PATH_INFO, GATEWAY_INTERFACE, REMOTE_ADDR, REMOTE_HOST; then the headers through
//   medusa's table: Content-Length -> CONTENT_LENGTH, Content-Type -> CONTENT_TYPE, Connection ->
//   CONNECTION_TYPE, every other header -> HTTP_NAME (Authorization included, as medusa did);
//   the port is stripped from HTTP_HOST; every empty variable is removed. Kept fixes: QUERY_STRING
//   stays when empty (row 29), repeated headers are merged (medusa let the last one win), and
//   Proxy never becomes HTTP_PROXY. No SERVER_PROTOCOL, AUTH_TYPE or PATH_TRANSLATED, as medusa.
//   The caller computes SCRIPT_NAME and PATH_INFO (medusa: "/" + first segment, and the rest with
//   a leading "/", which is "/" when there is no rest).
//
// Example (rfc3875): GET /cgi-bin/env/x?a=1 HTTP/1.1 with "Host: h" gives, among others,
//   GATEWAY_INTERFACE=CGI/1.1  HTTP_HOST=h  PATH_INFO=/x  QUERY_STRING=a=1
//   REQUEST_URI=/cgi-bin/env/x?a=1  SCRIPT_NAME=/cgi-bin/env  SERVER_PROTOCOL=HTTP/1.1
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medusa::cgi {

// What the builder needs to know about one request. Views must outlive the build_environment()
// call only.
struct request_meta {
    std::string_view method;        // as received: "GET"
    std::string_view request_uri;   // the request target as received: "/cgi-bin/env/a%20b?x=1"
    std::string_view path;          // the path, percent-decoded: "/cgi-bin/env/a b"
    std::string_view query;         // the query without its '?': "x=1" ("" for none)
    std::string_view version;       // "1.1"; "" when the request line had no version
    // The request headers in arrival order, names as the client spelled them.
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    std::string_view remote_addr;   // "127.0.0.1"
    uint16_t remote_port = 0;
    std::string_view server_name;   // the Host header's name part, or the server's name
    uint16_t server_port = 0;
    std::string_view server_software;  // "Medusa/1.12"
    std::string_view script_name;   // "/cgi-bin/env"
    std::string_view path_info;     // "/a b" ("" for none)
    std::string_view path_translated;  // "" for none
    std::string_view document_root;    // "" for none
    // The body's length when known; nullopt when there is no body or its length is not known
    // in advance (a chunked body streamed to the script: it reads stdin to end of file).
    std::optional<uint64_t> content_length;
    std::string_view content_type;  // "" for none
    std::string_view auth_type;     // "" for none
};

enum class env_style { rfc3875, medusa };

struct env_options {
    env_style style = env_style::rfc3875;
    // Names copied from the server's own environment (environ) when set there.
    std::vector<std::string> pass_through{"PATH"};
};

// The meta-variables for `r`, as "K=V" strings sorted by K.
std::vector<std::string> build_environment(const request_meta& r, const env_options& o = {});

// "User-Agent" -> "HTTP_USER_AGENT"; nullopt for a name that is not letters, digits and '-'.
std::optional<std::string> http_variable_name(std::string_view header_name);

// The auth-scheme token of an Authorization value: "Basic dXNlcjpwdw==" -> "Basic".
std::string_view auth_scheme(std::string_view authorization);

}  // namespace medusa::cgi
