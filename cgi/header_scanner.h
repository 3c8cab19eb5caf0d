// header_scanner: the header-scanning writer of medusa's thread/thread_handler.py
// (`header_scanning_file`), as a pure, resumable state machine.
//
// A CGI script writes an optional block of header lines, a blank line, then its body:
//
//     Status: 404 Not Found\n
//     Content-Type: text/plain\n
//     \n
//     nothing here\n
//
// The server must read that block before it can send a status line, because `Status:` decides
// the status. The scanner buffers the script's output until the header block ends, reports the
// block once (on_head), then hands every later byte straight through (on_body) without keeping
// it. It knows nothing about sockets, threads or requests: the thread handler feeds it from a
// trigger_file, the CGI/1.1 handler from a script's stdout pipe, and cgi_reply.h turns the
// result into an HTTP reply head.
//
// Usage:
//
//     medusa::cgi::header_scanner scan(
//         [&](const medusa::cgi::scan_result& r) { /* build and send the reply head */ },
//         [&](std::string_view body) { /* send these body bytes */ });
//     scan.feed(first_write);   // any number of times, any split
//     scan.feed(second_write);
//     scan.finish();            // the script has exited / closed stdout
//
// The key property: the same output gives the same on_head result and the same body bytes
// (concatenated) however it was split into feed() calls, one byte at a time included. medusa
// got this wrong (QUIRKS rows 23-24): it split on LF only, leaked the blank line into the body
// when it arrived in the same write as the headers, and dropped whatever followed the last LF of
// that write. Here every byte is classified in order, so a split point cannot matter.
//
// The grammar (RFC 3875 §6.3, with the seed's rule for non-header lines):
//   - A line ends with LF or CRLF; the CR of a CRLF is never part of a value.
//   - A header line is `Name:value`: Name is one or more token characters (RFC 9110 tchar:
//     letters, digits and !#$%&'*+-.^_`|~), then a colon; the value is everything after the
//     colon with leading and trailing spaces/tabs removed. medusa required ": " (a colon and a
//     space) and only [A-Za-z0-9-] names, so `Content-Type:text/plain` was body text there; RFC
//     3875 makes the space optional, and this scanner follows the RFC.
//   - The blank line ends the header block and is consumed: it is never part of the body.
//   - The first line that is not header-shaped ends the header block too, and that line IS the
//     body's first line (QUIRKS row 25, the seed's design): `Hello\n` with no header at all is a
//     200 whose body is `Hello\n`. The decision is made at the first byte that cannot belong to
//     a header name (a space, `<`, a CR or LF before any colon), so a body that starts with a
//     long unbroken line streams at once instead of filling the header buffer.
//   - Output that ends (finish()) in the middle of a line that is still a possible header name
//     (`Hello` and no LF) is a body line too. Output that ends inside the header block proper —
//     nothing written, or only complete header lines (`Status: 404 Not Found\n` and no blank
//     line), or a header line without its line end — never sent a header block: that is the
//     "no header" 502 of medusa (RFC 3875 §6.1: the response must be non-empty and have its
//     blank line).
//
// Status (RFC 3875 §6.3.3) is a CGI field, not an HTTP header: it is consumed and never among
// the reported headers (QUIRKS row 21 fix). `Status: 302 Moved` gives 302 "Moved";
// `Status: 404` gives 404 with the standard phrase "Not Found". The code must be three digits in
// 200..599 followed by the end of the value or whitespace; anything else (`Status: OK`,
// `Status: 99`, `Status: 700`, `Status: 1xx`, a second Status line) is a malformed reply: 502.
// 1xx codes are refused because they are never a final reply: the client would wait for
// another one that never comes.
//
// Location (RFC 3875 §6.2): without a Status line the reply is 302 "Found" (a client redirect).
// A Location that is a local path (starts with one "/", not "//") with no Status and no body is
// a local redirect (§6.2.2): the server should answer the request as if it had asked for that
// path. The scanner cannot know there is no body until the output ends, so for such a Location
// it reports on_head at the first body byte (then it is an ordinary 302 with a document) or at
// finish() (then kind is local_redirect, status 302 "Found", so a caller that does not serve it
// internally can still send it as a client redirect). No bytes are held back meanwhile.
//
// Limits: the header block (header lines, the blank line, and any undecided start of the first
// body line) may hold at most limits.max_header_bytes bytes (64 KiB by default), its blank line
// included; the 502 comes at the byte where the block can no longer end in time, so at most
// that many bytes are ever buffered (DESIGN.md: no unbounded buffer). A header value holding a control character — a
// bare CR not followed by LF, a NUL, an ESC; only HTAB is allowed — is a 502 too: passed on, a
// bare CR splits a header line in some clients (header injection). A Content-Length that is not
// a decimal number, or a second one, is a 502: a wrong length desynchronises a keep-alive
// connection. After an error on_head reports it (kind bad_gateway) and the rest of the output is
// discarded.
//
// Callbacks run synchronously inside feed()/finish(), on the caller's thread; they must not call
// feed() or finish() on the same scanner. on_head is called exactly once per scanner (if the
// output ends, at the latest in finish()); on_body only after it, never with an empty view, and
// never after a bad_gateway head. NPH scripts (RFC 3875 §5) are not scanned at all: the caller
// passes their output through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::cgi {

// What kind of reply the script's output asks for.
enum class reply_kind {
    document,        // a status (200 unless Status/Location say otherwise), headers, a body
    local_redirect,  // Location: /path, no Status, no body: serve /path internally (§6.2.2)
    bad_gateway,     // the output was unusable (see scan_error): the server answers 502
};

// Why a reply is bad_gateway; none otherwise.
enum class scan_error {
    none,
    no_header,           // the output ended before its header block did (medusa's 502)
    header_too_large,    // the header block passed limits::max_header_bytes
    bad_header_value,    // a control character (bare CR, NUL, ...) inside a header value
    bad_status,          // Status not "NNN[ reason]" with NNN in 200..599, or given twice
    bad_content_length,  // Content-Length not a decimal number, or given twice
};

// A short English description of an error, for the 502 page and the log line.
std::string_view describe(scan_error e);

// The standard reason phrase of a status code (RFC 9110 §15): 404 -> "Not Found". A code
// without a registered phrase gets its class's name (299 -> "Successful").
std::string_view standard_reason(int status);

// One header line as the script wrote it: the name in the script's spelling, the value trimmed.
struct header_field {
    std::string name;
    std::string value;
    friend bool operator==(const header_field&, const header_field&) = default;
};

// What the header block said. Reported once through on_head.
struct scan_result {
    reply_kind kind = reply_kind::document;
    int status = 200;
    std::string reason = "OK";
    // Every header line in the script's order, Status removed. Nothing is filtered here:
    // cgi_reply decides which ones reach the client.
    std::vector<header_field> headers;
    bool has_content_type = false;
    std::optional<uint64_t> content_length;  // the script's Content-Length, if it gave one
    scan_error error = scan_error::none;
    // For no_header: everything the script wrote (shown on the 502 page, as medusa does).
    std::string data;

    // The value of the first header named `name` (compared case-insensitively), or null.
    const std::string* header(std::string_view name) const;

    friend bool operator==(const scan_result&, const scan_result&) = default;
};

class header_scanner {
public:
    struct limits {
        size_t max_header_bytes = 64 * 1024;
    };
    using head_handler = std::function<void(const scan_result&)>;
    using body_handler = std::function<void(std::string_view)>;

    header_scanner(head_handler on_head, body_handler on_body);
    header_scanner(head_handler on_head, body_handler on_body, limits lim);

    // Some more of the script's output, split anywhere. Throws std::logic_error after finish().
    void feed(std::string_view data);
    // The output has ended. Reports the head now if it was not reported yet. Idempotent.
    void finish();

    // True once on_head has been called.
    bool head_sent() const { return head_sent_; }
    // The reported result (meaningful once head_sent()).
    const scan_result& result() const { return result_; }
    // Bytes passed to on_body so far.
    uint64_t body_bytes() const { return body_bytes_; }

private:
    enum class state : uint8_t {
        line_start,        // at the start of a header-block line
        blank_cr,          // a CR at the start of a line: a CRLF blank line, or a body line
        name,              // inside a possible header name (only tchars so far)
        value,             // after the colon of a header line
        value_cr,          // a CR inside a header value: must be followed by LF
        redirect_pending,  // header block over, a local-redirect Location; no body byte yet
        body,              // passing bytes through
        failed,            // bad_gateway reported; discarding
    };

    void scan(std::string_view data);
    void absorb(std::string_view data, size_t upto);
    bool complete_header_line(size_t line_end);
    void end_header_block();
    void start_body(std::string_view line_prefix, std::string_view rest);
    void emit_head();
    void emit_body(std::string_view data);
    void fail(scan_error e);

    head_handler on_head_;
    body_handler on_body_;
    limits limits_;

    state state_ = state::line_start;
    bool finished_ = false;
    bool head_sent_ = false;
    bool saw_status_ = false;
    // Every byte of the header block so far (bounded by the limit); positions below index it.
    std::string buffer_;
    size_t absorbed_ = 0;    // how much of the current feed() is already in buffer_
    size_t line_start_ = 0;  // where the current line starts in buffer_
    size_t colon_ = 0;       // where the current header line's colon is in buffer_
    scan_result result_;
    uint64_t body_bytes_ = 0;
};

}  // namespace medusa::cgi
