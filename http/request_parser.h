// request_parser: the request line and header block of one HTTP request, parsed without sockets
// (the parsing half of medusa's http_channel.found_terminator, crack_request and join_headers).
//
// The parser is a resumable state machine: feed() it bytes in pieces of any size and it stops
// right after the blank line that ends the header block, leaving the rest (a body, the next
// pipelined request) to the caller. Fed the same bytes split anywhere, it gives the same result.
//
// What it accepts (medusa's rules, with the port's fixes; see QUIRKS.md):
//   - lines end in CRLF or a bare LF (medusa waited forever for CRLFCRLF: row 16);
//   - one leading blank line is skipped (a browser's stray CRLF after a POST body); a second one
//     makes the request "empty" and the connection closes, as medusa does;
//   - the request line is `METHOD SP URI [SP HTTP/VERSION]` with single spaces, VERSION made of
//     digits and dots, `HTTP` in capitals; anything else is a 400 (row 5);
//   - a header line is `Name: value` (optional whitespace around the value), Name a token (RFC
//     9110 tchar); a line that starts with a space or tab continues the previous header, joined
//     with one space (row 17); a continuation right after the request line is a 400;
//   - a CR that does not end its line, or a NUL, anywhere in the head is a 400: a front end that
//     reads a bare CR as a line end would see other headers than we do (RFC 9112 section 2.2).
// Limits, each with its own status: a request line longer than max_request_line is 414, a header
// block longer than max_header_block is 431, a malformed line is 400.
//
// Framing (RFC 9112 section 6), checked at the end of every head whatever its method, because a
// request whose body boundary two servers could read differently is request smuggling: a front
// end forwards "GET / + body" and a back end reads part of that body as a second request. Each of
// these is a 400 (the channel then answers it after the replies to earlier pipelined requests
// and closes the connection):
//   - Content-Length that is not 1*DIGIT (a sign, a list "0, 5", hex, more than 18 digits), or
//     two Content-Length lines with different values;
//   - Transfer-Encoding together with Content-Length;
//   - Transfer-Encoding whose last coding (over all its lines) is not "chunked", or that names
//     chunked twice ("chunked, identity", "xchunked", "identity" then " chunked" folded);
//   - Transfer-Encoding in a request without a version or in HTTP/1.0 (1.0 has no chunking: a
//     1.0 front end would not have framed it so);
//   - a folded (obs-fold) Content-Length or Transfer-Encoding line.
// A chunked request also has its first chunk-size line read here, before the head counts as
// complete, and a malformed one ("zz", "-1", 17 hex digits) is a 400 too: otherwise a handler
// that wants no body (a GET's file handler) has answered 200 before the body's framing is seen.
// Not when the request says "Expect: 100-continue" (HTTP/1.1): that client sends no body until
// it is answered. The line is handed on with the head (first_chunk_line), for the channel's
// chunked_decoder to start from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/small_buffer.h"
#include "asyncore/small_vector.h"

namespace medusa::http {

struct parse_limits {
    size_t max_request_line = 8 * 1024;   // bytes of the request line, without its line end
    size_t max_header_block = 64 * 1024;  // bytes of the header lines after the request line
};

// crack_request("GET /x HTTP/1.1") -> {"GET", "/x", "1.1", true}; "GET /x" -> version absent.
// nullopt when the line does not have medusa's shape (one token, two spaces, a fourth token,
// lower-case "http/1.0").
struct cracked_request {
    std::string_view command;
    std::string_view uri;
    std::string_view version;  // "" when has_version is false
    bool has_version = false;
    // Where the URI's plain path ends: the index in `uri` of its first '?', '#', ';' or '%', or
    // its length when it has none (found in the same pass that finds the URI's end).
    size_t plain = 0;
};
std::optional<cracked_request> crack_request(std::string_view line);

// The URI's parts: <path>;<params>?<query>#<fragment>. params, query and fragment keep their
// leading ';', '?' or '#' (empty when absent). Params are taken from the last path segment only,
// as Python's urlparse does: "/a/b;type=a?x" is "/a/b" + ";type=a" + "?x", but in "/..;/secret"
// the ';' is part of the segment "..;", an ordinary name. (medusa's path_regex cut at the first
// ';' anywhere, making that path "/..", the root, and the file handler answered 301 to "/../".)
struct uri_parts {
    std::string_view path;
    std::string_view params;
    std::string_view query;
    std::string_view fragment;
};
uri_parts split_uri(std::string_view uri);

// %XX decoded once; a '%' not followed by two hex digits is kept as it is (as Python's unquote).
// "/a%2520b" -> "/a%20b" (medusa decoded twice and got "/a b": row 11).
std::string percent_decode(std::string_view s);

// Case-insensitive ASCII comparison, for header names and tokens. Inline: it runs a dozen times
// per request, and most calls end at the length compare. The bytes are compared a word at a
// time: a name is nearly always spelt as the caller spells it ("Content-Length" against
// "Content-Length"), and a word that matches exactly costs one compare; only a word that differs
// goes through the byte loop, which allows a difference of case.
namespace detail {
inline bool iequal_bytes(const char* a, const char* b, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x == y) continue;
        // Equal but for case only if they differ in bit 0x20 and are letters.
        if ((x ^ y) != 0x20 || static_cast<unsigned char>((x | 0x20) - 'a') > 'z' - 'a') return false;
    }
    return true;
}
template <typename W>
inline bool iequal_word(const char* a, const char* b) {
    W x, y;
    std::memcpy(&x, a, sizeof x);
    std::memcpy(&y, b, sizeof y);
    return x == y || iequal_bytes(a, b, sizeof x);
}
}  // namespace detail

[[gnu::always_inline]] inline bool iequals(std::string_view a, std::string_view b) {
    const size_t n = a.size();
    if (n != b.size()) return false;
    const char *p = a.data(), *q = b.data();
    if (n >= 8) {
        // Whole words, then one more word that ends at the last byte (it may overlap the one
        // before: those bytes are compared twice, which is cheaper than a byte loop).
        for (size_t i = 0; i + 8 < n; i += 8)
            if (!detail::iequal_word<uint64_t>(p + i, q + i)) return false;
        return detail::iequal_word<uint64_t>(p + n - 8, q + n - 8);
    }
    if (n >= 4)
        return detail::iequal_word<uint32_t>(p, q) &&
               detail::iequal_word<uint32_t>(p + n - 4, q + n - 4);
    return detail::iequal_bytes(p, q, n);
}

// A header name's key: its length and first letter, lower-cased. Two spellings of one name have
// one key, and most other names another: one compare rules them out before any byte is compared.
inline uint32_t name_key(std::string_view name) {
    unsigned char c = name.empty() ? 0 : static_cast<unsigned char>(name[0]);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
    return uint32_t(name.size()) << 8 | c;
}
// One bit of 32 for a key (a hash of it). A set of names is the OR of their bits: a name whose
// bit is clear is not in the set, and a look-up for it (the usual case: a request without
// Transfer-Encoding) needs no scan.
inline uint32_t key_bit(uint32_t key) { return 1u << ((key * 0x9E3779B1u) >> 27); }

struct header_field {
    std::string_view name;
    std::string_view value;
};

// One parsed request head. Owns its bytes; the views it hands out live as long as it does.
class parsed_request {
public:
    parsed_request() = default;
    parsed_request(const parsed_request&) = default;
    parsed_request(parsed_request&&) noexcept = default;
    parsed_request& operator=(const parsed_request&) = default;
    parsed_request& operator=(parsed_request&&) noexcept = default;

    std::string_view request_line() const { return view(line_); }
    std::string_view command() const { return view(command_); }
    std::string_view uri() const { return view(uri_); }
    // cracked_request::plain of the URI: where its first '?', '#', ';' or '%' is, or its length.
    size_t uri_plain() const { return uri_plain_; }
    std::string_view version() const { return view(version_); }
    bool has_version() const { return has_version_; }
    // For a chunked request (not waiting for a 100 Continue): its first chunk-size line as
    // received ("1a;ext=1", a trailing CR included if it had one, no LF). Already checked: fed to
    // a fresh chunked_decoder, then "\n", it leaves the decoder inside the first chunk's data (or
    // in the trailers after a "0").
    std::optional<std::string_view> first_chunk_line() const {
        if (!has_chunk_line_) return std::nullopt;
        return view(chunk_line_);
    }

    size_t field_count() const { return fields_.size(); }
    // False when no header of this name is present; true when one may be (get_header says).
    bool may_have(std::string_view name) const { return present_ & key_bit(name_key(name)); }
    header_field field(size_t i) const { return {view(fields_[i].name), view(fields_[i].value)}; }
    // The first header with this name (case-insensitive), without surrounding whitespace.
    // A linear scan: a request has a handful of headers, and comparing lengths first makes a
    // miss cost one integer compare per header, cheaper than building a map per request.
    std::optional<std::string_view> get_header(std::string_view name) const {
        if (!may_have(name)) return std::nullopt;  // (inline: for a constant name, one test)
        return find_header(name);
    }

    void clear();

private:
    friend class request_parser;
    struct span {
        uint32_t off = 0;
        uint32_t len = 0;
    };
    struct field_span {
        span name;
        span value;
    };
    std::optional<std::string_view> find_header(std::string_view name) const;
    // The request line and its parts, as crack_request found them in `line`: the request line as
    // it sits at the start of the bytes the block holds (or is about to hold) a copy of.
    void set_request_line(std::string_view line, const cracked_request& parts);
    // One more header field, and its name's bit in present_.
    void add_field(span name, span value, std::string_view name_bytes) {
        fields_.push_back({name, value});
        present_ |= key_bit(name_key(name_bytes));
    }
    std::string_view view(span s) const { return std::string_view(block_.data() + s.off, s.len); }

    // The head's bytes (the fields are spans of it: a move keeps them right). A head that came
    // whole is copied as it came; one read line by line is kept as its request line, then each
    // header line from its name to its value's end. Most heads fit inline: no allocation.
    small_buffer<1024> block_;
    span line_, command_, uri_, version_, chunk_line_;
    uint32_t uri_plain_ = 0;
    bool has_version_ = false;
    bool has_chunk_line_ = false;
    small_vector<field_span, 8> fields_;  // a request with up to 8 headers allocates none here
    uint32_t present_ = 0;                // key_bit() of each field's name
};

class request_parser {
public:
    enum class status {
        request_line,  // waiting for (more of) the request line
        headers,       // waiting for (more of) the header block
        first_chunk,   // a chunked request: waiting for its first chunk-size line
        complete,      // the blank line has arrived: take() the request
        empty,         // a leading CRLFCRLF: no request at all (medusa closes the connection)
        error,         // error_code() is 400, 414 or 431
    };

    explicit request_parser(parse_limits limits = {}) : limits_(limits) {}
    // Limits for the requests fed from now on.
    void set_limits(parse_limits limits) { limits_ = limits; }

    // The longest first chunk-size line read with a chunked head (chunked_decoder's own limit);
    // a longer one is a 400.
    static constexpr size_t max_chunk_line = 4096;

    // Consume bytes up to and including the end of the header block (or up to an error).
    // Returns how many bytes of `data` were used; the rest belongs to whatever follows.
    size_t feed(std::string_view data);

    status state() const { return state_; }
    bool finished() const { return state_ >= status::complete; }
    int error_code() const { return error_code_; }
    // A sentence for the log: "request line longer than 8192 bytes".
    const std::string& error_reason() const { return error_reason_; }
    // True once any byte of a request has arrived (the channel's slow-header timeout uses it).
    bool started() const { return started_; }

    // After complete: the parsed head (the parser is reset for the next request).
    parsed_request take();
    const parsed_request& peek() const { return req_; }
    void reset();

private:
    // A fresh head that has arrived whole in `data`, with nothing unusual in it, parsed in one
    // pass: the bytes it took (the request then complete, first_chunk or an error of the
    // framing checks), or 0, with the parser untouched, for the general way to read.
    size_t take_whole_head(std::string_view data);
    // The 414 and 431 limits, counting a line (without its line end); false once failed.
    bool count_line(std::string_view line);
    void process_line(std::string_view line);
    // A header line whose name is not a token followed by a colon: the 400, with its reason.
    void bad_header_name(std::string_view line);
    // At the blank line: the framing checks above; then complete, or first_chunk.
    void end_of_head();
    // The first chunk-size line of a chunked request (without its LF): checked, then kept.
    void first_chunk_line(std::string_view line);
    void fail(int code, std::string reason);

    parse_limits limits_;
    status state_ = status::request_line;
    parsed_request req_;
    std::string line_;          // the current line, without its line end
    size_t header_bytes_ = 0;   // bytes of header lines so far (limit: max_header_block)
    bool leading_blank_ = false;
    bool started_ = false;
    int error_code_ = 0;
    std::string error_reason_;
};

}  // namespace medusa::http
