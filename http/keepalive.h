// keepalive: the decision http_request::done() makes for every reply — close the connection
// after it or keep it, wrap the body in chunked coding or not, and which Connection header to
// send — as a pure function of the request and the reply (medusa's "BUCKLE UP!" block).
//
// medusa's rules, kept (QUIRKS.md row 2):
//   HTTP/1.0: keep the connection only when the request says Connection: keep-alive and the
//             reply has a Content-Length; then the reply says "Connection: Keep-Alive".
//   HTTP/1.1: keep it unless the request says Connection: close. A reply without Content-Length
//             is sent chunked (unless the handler set its own Transfer-Encoding: chunked keeps
//             it as is, any other Transfer-Encoding closes).
//   no version ("GET /"): close.
// The port's fixes:
//   row 1: a reply after which the server closes says "Connection: close";
//   row 3: any HTTP/1.x with x >= 1 is answered as HTTP/1.1, and Connection is read as a
//          comma-separated, case-insensitive token list ("Keep-Alive, Upgrade" keeps alive);
//   row 8: a reply without a body (to HEAD, 1xx, 204, 304) is never chunked and keeps the
//          connection exactly as a reply with a Content-Length would.
#pragma once

#include <string_view>

namespace medusa::http {

// The protocol a request spoke, as far as framing goes.
enum class http_version {
    none,         // "GET /": no version (medusa's HTTP/0.9-ish debugging form)
    http10,       // "1.0" (and "0.9")
    http11,       // "1.1", "1.2", ...: answered as 1.1
    unsupported,  // "2.0", "1", "1.": answered 505
};
http_version classify_version_in_full(std::string_view version, bool has_version);
inline http_version classify_version(std::string_view version, bool has_version) {
    // "1.1" and "1.0", nearly every request, inline; the rest (none, odd ones) out of line.
    if (has_version && version.size() == 3 && version[0] == '1' && version[1] == '.') {
        if (version[2] == '1') return http_version::http11;
        if (version[2] == '0') return http_version::http10;
    }
    return classify_version_in_full(version, has_version);
}
// The version written in the status line: "1.0" for none and 1.0, "1.1" otherwise.
std::string_view status_line_version(http_version v);

// The tokens of Connection header values that matter here.
struct connection_tokens {
    bool close = false;
    bool keep_alive = false;
};
// Adds the tokens of one Connection value ("Keep-Alive, Upgrade") to `t`.
void parse_connection(std::string_view value, connection_tokens& t);

enum class transfer_coding { none, chunked, other };

struct keepalive_input {
    http_version version = http_version::http11;
    connection_tokens connection;
    bool has_content_length = false;                      // the reply's
    transfer_coding reply_coding = transfer_coding::none;  // the reply's Transfer-Encoding
    bool bodyless = false;     // HEAD, 1xx, 204, 304: the reply has no body by definition
    bool use_chunked = true;   // medusa's http_request.use_chunked
    bool force_close = false;  // the server will close anyway (an error, a body it will not read)
};

enum class connection_header { none, keep_alive, close };

struct keepalive_decision {
    bool close = false;  // close the connection after this reply
    // The close is the client's own: its request said it sends nothing after it (HTTP/1.0 or 0.9
    // without keep-alive, "Connection: close") and the server has no reason of its own to close
    // (force_close), so no more of its bytes are coming (http_channel skips the lingering).
    bool client_closes = false;
    bool chunk = false;  // wrap the body in chunked coding (and add Transfer-Encoding: chunked)
    connection_header header = connection_header::none;
};

keepalive_decision decide_keepalive(const keepalive_input& in);

// True when a reply with this status to this method carries no body (RFC 9110 section 6.4.1).
bool reply_is_bodyless(std::string_view command, int code);

}  // namespace medusa::http
