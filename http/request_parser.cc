#include "http/request_parser.h"

#include <fmt/format.h>

#include <algorithm>

namespace medusa::http {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// medusa's REQUEST regex: '([^ ]+) ([^ ]+)(( HTTP/([0-9.]+))$|$)', matched against the whole line.
std::optional<cracked_request> crack_request(std::string_view line) {
    size_t sp1 = line.find(' ');
    if (sp1 == 0 || sp1 == std::string_view::npos) return std::nullopt;
    cracked_request r;
    r.command = line.substr(0, sp1);
    std::string_view rest = line.substr(sp1 + 1);
    size_t sp2 = rest.find(' ');
    if (sp2 == 0) return std::nullopt;  // two spaces in a row
    if (sp2 == std::string_view::npos) {
        if (rest.empty()) return std::nullopt;  // "GET " with nothing after
        r.uri = rest;
        return r;
    }
    r.uri = rest.substr(0, sp2);
    std::string_view tail = rest.substr(sp2 + 1);
    constexpr std::string_view prefix = "HTTP/";
    if (tail.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::string_view version = tail.substr(prefix.size());
    if (version.empty()) return std::nullopt;
    for (char c : version)
        if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
    r.version = version;
    r.has_version = true;
    return r;
}

// medusa's path_regex: ([^;?#]*)(;[^?#]*)?(\?[^#]*)?(#.*)? — it always matches the whole URI.
uri_parts split_uri(std::string_view uri) {
    uri_parts p;
    size_t i = uri.find_first_of(";?#");
    p.path = uri.substr(0, i);
    if (i == std::string_view::npos) return p;
    std::string_view rest = uri.substr(i);
    if (rest.front() == ';') {
        size_t j = rest.find_first_of("?#");
        p.params = rest.substr(0, j);
        if (j == std::string_view::npos) return p;
        rest = rest.substr(j);
    }
    if (rest.front() == '?') {
        size_t j = rest.find('#');
        p.query = rest.substr(0, j);
        if (j == std::string_view::npos) return p;
        rest = rest.substr(j);
    }
    p.fragment = rest;
    return p;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(char(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::optional<std::string_view> parsed_request::get_header(std::string_view name) const {
    for (const auto& f : fields_) {
        if (f.name.len == name.size() && iequals(view(f.name), name)) return view(f.value);
    }
    return std::nullopt;
}

void parsed_request::clear() {
    block_.clear();
    line_ = command_ = uri_ = version_ = span{};
    has_version_ = false;
    fields_.clear();
}

void request_parser::reset() {
    state_ = status::request_line;
    req_.clear();
    line_.clear();
    header_bytes_ = 0;
    leading_blank_ = false;
    started_ = false;
    error_code_ = 0;
    error_reason_.clear();
}

parsed_request request_parser::take() {
    parsed_request r = std::move(req_);
    reset();
    return r;
}

void request_parser::fail(int code, std::string reason) {
    state_ = status::error;
    error_code_ = code;
    error_reason_ = std::move(reason);
}

size_t request_parser::feed(std::string_view data) {
    size_t used = 0;
    while (used < data.size() && !finished()) {
        started_ = true;
        std::string_view rest = data.substr(used);
        size_t nl = rest.find('\n');
        std::string_view piece = rest.substr(0, nl);
        if (nl == std::string_view::npos) {
            // No line end yet. Enforce the limits before buffering, so a client that never
            // ends a line costs at most the limit of memory. (+1: the line may be exactly at the
            // limit and end in the CR of its CRLF.)
            size_t pending = line_.size() + piece.size();
            if (state_ == status::request_line && pending > limits_.max_request_line + 1) {
                fail(414, fmt::format("request line longer than {} bytes",
                                      limits_.max_request_line));
            } else if (state_ == status::headers &&
                       header_bytes_ + pending > limits_.max_header_block + 1) {
                // (+1 again: a lone pending CR may be the start of the blank line, which does
                // not count; a block exactly at the limit must not fail because of where a read
                // split its final CRLF.)
                fail(431,
                     fmt::format("header block longer than {} bytes", limits_.max_header_block));
            } else {
                line_.append(piece);
            }
            return data.size();
        }
        used += nl + 1;
        std::string_view line = piece;
        if (!line_.empty()) {
            line_.append(piece);
            line = line_;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (state_ == status::request_line && line.size() > limits_.max_request_line) {
            fail(414, fmt::format("request line longer than {} bytes", limits_.max_request_line));
            return used;
        }
        if (state_ == status::headers && !line.empty()) {
            header_bytes_ += line.size() + 2;  // each header line counted with its CRLF
            if (header_bytes_ > limits_.max_header_block) {
                fail(431,
                     fmt::format("header block longer than {} bytes", limits_.max_header_block));
                return used;
            }
        }
        process_line(line);
        line_.clear();
    }
    return used;
}

void request_parser::process_line(std::string_view line) {
    using span = parsed_request::span;
    std::string& block = req_.block_;
    if (state_ == status::request_line) {
        if (line.empty()) {
            // One leading blank line is forgiven (HTTP/1.1 section 4.1); a second means the
            // whole block was empty, which medusa answers by closing.
            if (leading_blank_) {
                state_ = status::empty;
            } else {
                leading_blank_ = true;
            }
            return;
        }
        auto cracked = crack_request(line);
        block.assign(line);
        req_.line_ = span{0, uint32_t(line.size())};
        if (!cracked) {
            fail(400, "malformed request line");
            return;
        }
        auto offset = [&](std::string_view part) {
            return span{uint32_t(part.data() - line.data()), uint32_t(part.size())};
        };
        req_.command_ = offset(cracked->command);
        req_.uri_ = offset(cracked->uri);
        req_.version_ = cracked->has_version ? offset(cracked->version) : span{};
        req_.has_version_ = cracked->has_version;
        state_ = status::headers;
        return;
    }
    if (line.empty()) {
        state_ = status::complete;
        return;
    }
    if (is_ows(line.front())) {
        // A folded line continues the previous header's value, joined with one space.
        if (req_.fields_.empty()) {
            fail(400, "continuation line right after the request line");
            return;
        }
        std::string_view more = trim_ows(line);
        if (more.empty()) return;
        auto& value = req_.fields_.back().value;
        // The last value is at the end of the block: extend it in place.
        block.resize(value.off + value.len);
        if (value.len > 0) {
            block.push_back(' ');
            ++value.len;
        } else {
            value.off = uint32_t(block.size());
        }
        block.append(more);
        value.len += uint32_t(more.size());
        return;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        fail(400, "header line without a name and a colon");
        return;
    }
    std::string_view name = line.substr(0, colon);
    if (std::any_of(name.begin(), name.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        fail(400, "whitespace in a header name");
        return;
    }
    std::string_view value = trim_ows(line.substr(colon + 1));
    parsed_request::field_span f;
    f.name = span{uint32_t(block.size()), uint32_t(name.size())};
    block.append(name);
    f.value = span{uint32_t(block.size()), uint32_t(value.size())};
    block.append(value);
    req_.fields_.push_back(f);
}

}  // namespace medusa::http
