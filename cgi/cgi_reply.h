// cgi_reply: turns a scanned CGI header block (header_scanner.h) into the HTTP reply head, and
// makes medusa's 502 page for output that had no usable header block.
//
// medusa's header_scanning_file.build_header always answered `HTTP/1.0 <Status value>` with
// `Connection: close` and passed `Status:` on as a header (QUIRKS rows 20-21). The rules here:
//
//   status line   in the request's version: "1.0" -> HTTP/1.0; "1.1" or any other 1.x ->
//                 HTTP/1.1 (QUIRKS row 3); no version (an HTTP/0.9-style request line) or any
//                 other -> HTTP/1.0 and close (row 4). Then the code and a reason phrase, always.
//   headers       the script's headers in its order (Status is already gone), without the
//                 hop-by-hop Connection, Keep-Alive and Transfer-Encoding: the server owns the
//                 connection and the framing (a script's own "Transfer-Encoding: chunked" on top
//                 of ours would frame the body twice); then Server and Date, each only if the
//                 script gave none (RFC 3875 §6.3.4: the server resolves conflicts); then
//                 `Content-Type: text/html` if the script gave none (medusa's default, row 22);
//                 then Transfer-Encoding and Connection as below. Values go out as
//                 `Name: value`, whatever spacing the script used.
//   connection    HTTP/1.1: kept open unless the client asked to close (keep_alive false). The
//                 body is then framed by the script's Content-Length if it gave one, else sent
//                 with `Transfer-Encoding: chunked`. Asked to close: `Connection: close`, the
//                 body runs to the end of the connection.
//                 HTTP/1.0: kept open only if the client asked (`Connection: keep-alive`) and
//                 the length is known (a Content-Length, or a status without a body), with
//                 `Connection: Keep-Alive`, as medusa's http_server does (row 2); otherwise
//                 `Connection: close`.
//   no body       HEAD, 204 and 304 send no body (the caller discards the script's); HEAD gets
//                 the same headers a GET would have had, Transfer-Encoding included.
//   local redirect a caller that serves it internally does not call build_reply for it; if it
//                 does, the reply is a 302 with the Location and `Content-Length: 0`.
//   502           for a bad_gateway result: `Content-Type: text/html`, `Content-Length`, Server,
//                 Date, Connection, and the page below as the body (none for HEAD). For an
//                 HTTP/1.0 request the status line is `HTTP/1.0 502 Bad Gateway` (medusa sent
//                 `HTTP/1.0 502` and a `Status: 502` header, row 21).
//
// Example: the `redirect` script writes "Status: 302 Moved\nLocation: /x\n\n<a ...>\n"; for a
// GET over HTTP/1.0 the head is
//
//     HTTP/1.0 302 Moved\r\n
//     Location: /x\r\n
//     Server: medusa/0.5.4\r\n
//     Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n
//     Content-Type: text/html\r\n
//     Connection: close\r\n
//     \r\n
#pragma once

#include <string>
#include <string_view>

#include "cgi/header_scanner.h"

namespace medusa::cgi {

// What the reply builder needs to know about the request.
struct request_info {
    std::string_view version;   // the request's HTTP version: "1.0", "1.1", or "" for none
    bool head = false;          // the method is HEAD
    bool keep_alive = true;     // the client's wish: HTTP/1.1 unless `Connection: close`;
                                // HTTP/1.0 only with `Connection: keep-alive`
    std::string_view server;    // the Server header's value ("" for no Server header)
    std::string_view date;      // the Date header's value ("" for no Date header)
};

struct reply {
    std::string head;        // status line, header lines, the blank line; CRLF line ends
    std::string page;        // a body the server made itself (the 502 page); "" for HEAD
    bool pass_body = false;  // send the script's body after the head (false: HEAD, 204, 304,
                             // local redirect, 502: the caller discards the script's output)
    bool chunked = false;    // the script's body must be sent chunk-encoded (append_chunk), then
                             // ended with last_chunk
    bool keep_alive = false; // the connection stays open after this reply
};

reply build_reply(const scan_result& result, const request_info& request);

// medusa's 502 page, byte for byte, for a no_header result:
//   <html><h1>Server Error</h1>\r\n
//   <b>Bad Gateway:</b> No Header from CGI Script\r\n
//   <pre>Data: 'what the script wrote'</pre></html>\r\n
// The data is shown as Python's repr() shows a byte string (the quoting medusa used), then
// HTML-escaped (QUIRKS row 26 fix: a script that wrote "<b>" shows `'&lt;b&gt;'`, not bold).
// Other errors give the same page with describe(error) as the message and no Data line: their
// output is of no use to the client.
std::string bad_gateway_page(const scan_result& result);

// Python 2 repr() of a byte string: quoted with ' (with " if the text holds ' but no "),
// backslash escapes for \\, the quote, \t, \n, \r, and \xhh for every other byte outside
// 0x20..0x7e. The 5 bytes `it's` LF give the 8 characters `"it's\n"`.
std::string python_repr(std::string_view data);

// Escapes &, < and > (the characters that matter in element text): "<b>" -> "&lt;b&gt;".
std::string html_escape(std::string_view text);

// Chunked transfer coding (RFC 9112 §7.1): appends one chunk holding `data` to `out` (nothing for
// empty data, which would read as the last chunk).
void append_chunk(std::string& out, std::string_view data);
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace medusa::cgi
