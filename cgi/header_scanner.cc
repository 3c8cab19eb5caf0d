// header_scanner: see header_scanner.h for the grammar and the guarantees.
#include "cgi/header_scanner.h"

#include <array>
#include <stdexcept>
#include <utility>

namespace medusa::cgi {

namespace {

// RFC 9110 §5.6.2 tchar: the bytes a header name is made of.
constexpr std::array<bool, 256> make_tchar_table() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}
constexpr std::array<bool, 256> tchar = make_tchar_table();

bool is_tchar(unsigned char c) { return tchar[c]; }

// A byte that may not appear in a header value (RFC 9110 §5.5: only HTAB, SP, VCHAR, obs-text).
bool is_forbidden_in_value(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// "302 Moved" -> 302 and "Moved"; "404" -> 404 and "". False when malformed.
bool parse_status(std::string_view v, int& code, std::string_view& reason) {
    if (v.size() < 3) return false;
    code = 0;
    for (size_t i = 0; i < 3; ++i) {
        if (v[i] < '0' || v[i] > '9') return false;
        code = code * 10 + (v[i] - '0');
    }
    if (code < 200 || code > 599) return false;
    if (v.size() > 3 && !is_space(v[3])) return false;  // "3020", "302Moved"
    reason = trim(v.substr(3));
    return true;
}

// A decimal Content-Length; false for an empty value, any non-digit, or overflow.
bool parse_length(std::string_view v, uint64_t& n) {
    if (v.empty() || v.size() > 19) return false;  // 19 digits always fit in 64 bits
    n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

// A Location that names a path on this server (RFC 3875 §6.2.2 local-pathquery): "/x?y" is,
// "//host/x" (a network-path reference) and "http://..." are not.
bool is_local_path(std::string_view v) { return v.size() >= 1 && v[0] == '/' && (v.size() == 1 || v[1] != '/'); }

}  // namespace

std::string_view describe(scan_error e) {
    switch (e) {
        case scan_error::none: return "no error";
        case scan_error::no_header: return "No Header from CGI Script";
        case scan_error::header_too_large: return "Header block from CGI Script too large";
        case scan_error::bad_header_value: return "Control character in a header from CGI Script";
        case scan_error::bad_status: return "Bad Status header from CGI Script";
        case scan_error::bad_content_length: return "Bad Content-Length header from CGI Script";
    }
    return "unknown error";
}

std::string_view standard_reason(int status) {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 305: return "Use Proxy";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 421: return "Misdirected Request";
        case 422: return "Unprocessable Content";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: break;
    }
    switch (status / 100) {
        case 1: return "Informational";
        case 2: return "Successful";
        case 3: return "Redirection";
        case 4: return "Client Error";
        default: return "Server Error";
    }
}

const std::string* scan_result::header(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return &h.value;
    return nullptr;
}

header_scanner::header_scanner(head_handler on_head, body_handler on_body)
    : header_scanner(std::move(on_head), std::move(on_body), limits{}) {}

header_scanner::header_scanner(head_handler on_head, body_handler on_body, limits lim)
    : on_head_(std::move(on_head)), on_body_(std::move(on_body)), limits_(lim) {}

void header_scanner::feed(std::string_view data) {
    if (finished_) throw std::logic_error("header_scanner::feed() after finish()");
    if (data.empty()) return;
    switch (state_) {
        case state::body: emit_body(data); return;
        case state::failed: return;
        case state::redirect_pending:
            // A body byte: not a local redirect after all, but a 302 with a document.
            start_body({}, data);
            return;
        default: scan(data); return;
    }
}

void header_scanner::finish() {
    if (finished_) return;
    finished_ = true;
    switch (state_) {
        case state::line_start:
        case state::value:
        case state::value_cr:
            // Nothing, only complete header lines, or a header line cut short: no header block.
            result_.data = buffer_;
            fail(scan_error::no_header);
            return;
        case state::blank_cr:
        case state::name:
            // The last line was never a header (no colon, or a CR not followed by LF): it is the
            // body's first line, cut short by the end of the output.
            end_header_block();
            start_body(std::string_view(buffer_).substr(line_start_), {});
            return;
        case state::redirect_pending:
            // Location: /path, no Status, and nothing after the header block.
            result_.kind = reply_kind::local_redirect;
            emit_head();
            return;
        case state::body:
        case state::failed:
            return;
    }
}

// Classifies the bytes of `data` one by one while the header block lasts. Header bytes are copied
// into buffer_ lazily (absorb) so that a feed holding the whole output costs one copy of the
// header block only; the body part of the same feed is passed on as a view.
void header_scanner::scan(std::string_view data) {
    absorbed_ = 0;
    const size_t base = buffer_.size();  // stream position of data[0]
    for (size_t i = 0; i < data.size(); ++i) {
        const auto c = static_cast<unsigned char>(data[i]);
        switch (state_) {
            case state::line_start:
                if (c == '\n') {
                    absorb(data, i + 1);
                    end_header_block();
                    start_body({}, data.substr(i + 1));
                    return;
                }
                if (c == '\r') {
                    state_ = state::blank_cr;
                } else if (is_tchar(c)) {
                    state_ = state::name;
                } else {
                    absorb(data, i);
                    end_header_block();
                    start_body(std::string_view(buffer_).substr(line_start_), data.substr(i));
                    return;
                }
                break;
            case state::blank_cr:
                if (c == '\n') {
                    absorb(data, i + 1);
                    end_header_block();
                    start_body({}, data.substr(i + 1));
                    return;
                }
                // "\rX": not a blank line, so a body line starting with that CR.
                absorb(data, i);
                end_header_block();
                start_body(std::string_view(buffer_).substr(line_start_), data.substr(i));
                return;
            case state::name:
                if (c == ':') {
                    colon_ = base + i;
                    state_ = state::value;
                } else if (!is_tchar(c)) {
                    absorb(data, i);
                    end_header_block();
                    start_body(std::string_view(buffer_).substr(line_start_), data.substr(i));
                    return;
                }
                break;
            case state::value:
                if (c == '\r') {
                    state_ = state::value_cr;
                } else if (c == '\n') {
                    absorb(data, i + 1);
                    if (!complete_header_line(base + i)) return;
                } else if (is_forbidden_in_value(c)) {
                    fail(scan_error::bad_header_value);
                    return;
                }
                break;
            case state::value_cr:
                if (c != '\n') {  // a bare CR inside a value
                    fail(scan_error::bad_header_value);
                    return;
                }
                absorb(data, i + 1);
                if (!complete_header_line(base + i - 1)) return;
                break;
            case state::redirect_pending:
            case state::body:
            case state::failed:
                return;  // unreachable: scan() runs only in the header states
        }
        // This byte stayed in the header block, which is not over yet: the block can no longer
        // end within the limit (its blank line would come after byte number max_header_bytes).
        if (base + i + 1 >= limits_.max_header_bytes) {
            fail(scan_error::header_too_large);
            return;
        }
    }
    absorb(data, data.size());
}

void header_scanner::absorb(std::string_view data, size_t upto) {
    if (upto > absorbed_) {
        buffer_.append(data.substr(absorbed_, upto - absorbed_));
        absorbed_ = upto;
    }
}

// The header line buffer_[line_start_, line_end) is complete (line_end excludes its CR/LF).
// Returns false if it made the output unusable (fail() has run).
bool header_scanner::complete_header_line(size_t line_end) {
    const std::string_view all(buffer_);
    const std::string_view name = all.substr(line_start_, colon_ - line_start_);
    const std::string_view value = trim(all.substr(colon_ + 1, line_end - colon_ - 1));
    // The next line starts after this one's LF, which is the last byte absorbed.
    line_start_ = buffer_.size();
    state_ = state::line_start;

    if (iequals(name, "status")) {
        int code = 0;
        std::string_view reason;
        if (saw_status_ || !parse_status(value, code, reason)) {
            fail(scan_error::bad_status);
            return false;
        }
        saw_status_ = true;
        result_.status = code;
        result_.reason = reason.empty() ? std::string(standard_reason(code)) : std::string(reason);
        return true;
    }
    if (iequals(name, "content-length")) {
        uint64_t n = 0;
        if (result_.content_length || !parse_length(value, n)) {
            fail(scan_error::bad_content_length);
            return false;
        }
        result_.content_length = n;
    } else if (iequals(name, "content-type")) {
        result_.has_content_type = true;
    }
    result_.headers.push_back(header_field{std::string(name), std::string(value)});
    return true;
}

// The header block is over (blank line or first body line). Settles the status that Location
// implies, or defers the head for a possible local redirect.
void header_scanner::end_header_block() {
    state_ = state::body;
    if (saw_status_) return;
    const std::string* location = result_.header("location");
    if (!location) return;
    result_.status = 302;
    result_.reason = std::string(standard_reason(302));
    if (is_local_path(*location)) state_ = state::redirect_pending;
}

// The body begins: `line_prefix` (the already-buffered start of the first body line) and then
// `rest`. Either may be empty. Reports the head first unless that has been done.
void header_scanner::start_body(std::string_view line_prefix, std::string_view rest) {
    if (state_ == state::redirect_pending) {
        if (line_prefix.empty() && rest.empty()) {  // still no body byte: keep deferring
            std::string().swap(buffer_);
            return;
        }
        state_ = state::body;                             // a body: a plain 302 with a document
    }
    if (!head_sent_) emit_head();
    // The buffered prefix is copied out before the buffer is released.
    if (!line_prefix.empty()) emit_body(line_prefix);
    if (!rest.empty()) emit_body(rest);
    std::string().swap(buffer_);  // the header block is no longer needed
}

void header_scanner::emit_head() {
    head_sent_ = true;
    on_head_(result_);
}

void header_scanner::emit_body(std::string_view data) {
    body_bytes_ += data.size();
    on_body_(data);
}

void header_scanner::fail(scan_error e) {
    state_ = state::failed;
    result_.kind = reply_kind::bad_gateway;
    result_.error = e;
    result_.status = 502;
    result_.reason = std::string(standard_reason(502));
    if (e != scan_error::no_header) result_.data.clear();
    std::string().swap(buffer_);
    emit_head();
}

}  // namespace medusa::cgi
