#include "http/request_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http/chunked.h"
#include "http/keepalive.h"

namespace medusa::http {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

[[gnu::always_inline]] inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 9110 section 5.6.2 tchar: the bytes a header name is made of. A table, because every byte
// of every header name goes through it.
constexpr auto tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[size_t(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[size_t(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[size_t(c)] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();
bool is_tchar(char c) { return tchar_table[static_cast<unsigned char>(c)]; }

// A CR that does not end its line, or a NUL. Two memchr scans (vectorised: a few instructions
// per 32 bytes) cost a tenth of a byte-by-byte loop over the line; find_first_of with a two-byte
// set would call memchr once per byte.
bool has_cr_or_nul(std::string_view line) {
    return !line.empty() && (std::memchr(line.data(), '\r', line.size()) != nullptr ||
                             std::memchr(line.data(), '\0', line.size()) != nullptr);
}

// The first '\n', '\r' or NUL in p[0, n), or n: where a line ends, or where its fast reading
// stops (a bare CR or a NUL is left to the careful path, which knows what to answer). Sixteen
// bytes per step with SSE2: one scan over the line instead of a memchr for its end and two more
// for the bytes it must not hold.
size_t find_line_break(const char* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
        const __m128i nul = _mm_setzero_si128();
        auto breaks = [&](size_t at) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                                     _mm_cmpeq_epi8(v, nul));
            return unsigned(_mm_movemask_epi8(m));
        };
        for (; i + 16 <= n; i += 16)
            if (unsigned bits = breaks(i)) return i + size_t(std::countr_zero(bits));
        if (i == n) return n;
        // The last 16 bytes, overlapping what was scanned: only bits past i count.
        unsigned bits = breaks(n - 16) >> (16 - (n - i));
        return bits ? i + size_t(std::countr_zero(bits)) : n;
    }
#endif
    for (; i < n; ++i)
        if (p[i] == '\n' || p[i] == '\r' || p[i] == '\0') return i;
    return n;
}

// Calls fn(element) for each non-empty element of a comma-separated list, trimmed (RFC 9110
// section 5.6.1: empty elements are allowed and ignored). Stops when fn returns false.
template <class F>
void for_each_element(std::string_view list, F&& fn) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view e = trim_ows(list.substr(0, comma));
        if (!e.empty() && !fn(e)) return;
        if (comma == std::string_view::npos) return;
        list.remove_prefix(comma + 1);
    }
}

// A client's bytes for a log line: at most `max` of them, control bytes and non-ASCII as \xNN
// (an ESC sequence in a header must not reach the operator's terminal).
std::string printable(std::string_view s, size_t max = 40) {
    std::string out;
    for (unsigned char c : s.substr(0, max)) {
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            fmt::format_to(std::back_inserter(out), "\\x{:02x}", unsigned(c));
        } else {
            out.push_back(char(c));
        }
    }
    return out;
}

bool is_framing_header(std::string_view name) {
    return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding");
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The length of a line that find_line_break() stopped at k of p[0, n), its line end included:
// k + 1 after an LF, k + 2 after a CRLF; 0 when the line has not ended there (the data ends
// first, or a bare CR or a NUL stopped the scan).
size_t line_end_at(const char* p, size_t n, size_t k) {
    if (k < n && p[k] == '\n') return k + 1;
    if (k + 1 < n && p[k] == '\r' && p[k + 1] == '\n') return k + 2;
    return 0;
}

// A header line "Name: value": where the colon is, and the value without the whitespace around
// it. nullopt when the name is not a token followed by a colon.
struct header_split {
    size_t colon;
    std::string_view value;
};
[[gnu::always_inline]] inline std::optional<header_split> split_header_line(std::string_view line) {
    // One table look-up per byte of the name (the colon is not a token byte).
    size_t colon = 0;
    while (colon < line.size() && is_tchar(line[colon])) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') return std::nullopt;
    return header_split{colon, trim_ows(line.substr(colon + 1))};
}

}  // namespace


// medusa's REQUEST regex: '([^ ]+) ([^ ]+)(( HTTP/([0-9.]+))$|$)', matched against the whole line.
// (Pointers and lengths rather than substr(): this runs once per request, and substr's range
// check kept it from being inlined.)
namespace {
// What a URI's byte is to crack_request: the space that ends the URI, one that ends its plain
// path ('?', '#', ';', '%'), or neither (0).
constexpr uint8_t uri_space = 1, uri_stop = 2;
constexpr auto uri_byte = [] {
    std::array<uint8_t, 256> t{};
    t[' '] = uri_space;
    for (char c : std::string_view("?#;%")) t[static_cast<unsigned char>(c)] = uri_stop;
    return t;
}();
}  // namespace

std::optional<cracked_request> crack_request(std::string_view line) {
    const char* p = line.data();
    const size_t n = line.size();
    size_t sp1 = 0;  // the method is short: a byte loop
    while (sp1 < n && p[sp1] != ' ') ++sp1;
    if (sp1 == 0 || sp1 == n) return std::nullopt;
    const size_t u = sp1 + 1;
    // The URI: where it ends (the space after it) and where its plain path ends, 16 bytes at a
    // time while 16 remain, then byte by byte.
    size_t sp2 = u, stop = n;
    bool ended = false;
#if defined(__SSE2__)
    while (n - sp2 >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + sp2));
        const auto is = [v](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
        const unsigned space = unsigned(_mm_movemask_epi8(is(' ')));
        unsigned stops = unsigned(_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(is('?'), is('#')), _mm_or_si128(is(';'), is('%')))));
        if (space) stops &= (space & -space) - 1;  // only those before the space
        if (stop == n && stops) stop = sp2 + size_t(std::countr_zero(stops));
        if (space) {
            sp2 += size_t(std::countr_zero(space));
            ended = true;
            break;
        }
        sp2 += 16;
    }
#endif
    if (!ended) {
        for (; sp2 < n; ++sp2) {
            const uint8_t c = uri_byte[static_cast<unsigned char>(p[sp2])];
            if (c == uri_space) break;
            if (c == uri_stop && stop == n) stop = sp2;
        }
    }
    if (sp2 == u) return std::nullopt;  // two spaces in a row, or "GET " with nothing after
    cracked_request r;
    r.command = std::string_view(p, sp1);
    r.uri = std::string_view(p + u, sp2 - u);
    r.plain = std::min(stop, sp2) - u;
    if (sp2 == n) return r;
    size_t v = sp2 + 1;
    if (n - v < 5 || std::memcmp(p + v, "HTTP/", 5) != 0) return std::nullopt;
    v += 5;
    if (v == n) return std::nullopt;
    r.version = std::string_view(p + v, n - v);
    r.has_version = true;
    if (r.version == "1.1" || r.version == "1.0") return r;  // nearly every request
    for (size_t i = v; i < n; ++i)
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.')) return std::nullopt;
    return r;
}

// medusa's path_regex, ([^;?#]*)(;[^?#]*)?(\?[^#]*)?(#.*)?, except that the params begin at a
// ';' in the last segment of the path (after its last '/') only.
uri_parts split_uri(std::string_view uri) {
    uri_parts p;
    const char* u = uri.data();
    // Path and params end at the first '?' or '#'.
    size_t end = 0;
    while (end < uri.size() && u[end] != '?' && u[end] != '#') ++end;
    // The params begin at the first ';' after the last '/' (most paths have no ';' at all: one
    // memchr says so).
    size_t i = end;
    if (end > 0 && std::memchr(u, ';', end) != nullptr) {
        size_t slash = uri.substr(0, end).rfind('/');
        size_t from = slash == std::string_view::npos ? 0 : slash + 1;
        if (const void* semi = std::memchr(u + from, ';', end - from))
            i = size_t(static_cast<const char*>(semi) - u);
    }
    p.path = uri.substr(0, i);
    if (i == uri.size()) return p;
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

void parsed_request::set_request_line(std::string_view line, const cracked_request& parts) {
    auto offset = [&](std::string_view part) {
        return span{uint32_t(part.data() - line.data()), uint32_t(part.size())};
    };
    line_ = span{0, uint32_t(line.size())};
    command_ = offset(parts.command);
    uri_ = offset(parts.uri);
    uri_plain_ = uint32_t(parts.plain);
    version_ = parts.has_version ? offset(parts.version) : span{};
    has_version_ = parts.has_version;
}

std::optional<std::string_view> parsed_request::find_header(std::string_view name) const {
    for (const auto& f : fields_) {
        if (f.name.len == name.size() && iequals(view(f.name), name)) return view(f.value);
    }
    return std::nullopt;
}

void parsed_request::clear() {
    block_.clear();
    line_ = command_ = uri_ = version_ = chunk_line_ = span{};
    uri_plain_ = 0;
    has_version_ = false;
    has_chunk_line_ = false;
    fields_.clear();
    present_ = 0;
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

bool request_parser::count_line(std::string_view line) {
    if (state_ == status::request_line && line.size() > limits_.max_request_line) {
        fail(414, fmt::format("request line longer than {} bytes", limits_.max_request_line));
        return false;
    }
    if (state_ == status::headers && !line.empty()) {
        header_bytes_ += line.size() + 2;  // each header line counted with its CRLF
        if (header_bytes_ > limits_.max_header_block) {
            fail(431, fmt::format("header block longer than {} bytes", limits_.max_header_block));
            return false;
        }
    }
    return true;
}

size_t request_parser::take_whole_head(std::string_view data) {
    using span = parsed_request::span;
    const char* p = data.data();
    const size_t n = data.size();
    // The request line.
    const size_t k = find_line_break(p, n);
    size_t at = line_end_at(p, n, k);
    if (at == 0 || k == 0 || k > limits_.max_request_line) return 0;
    const std::string_view line(p, k);
    const auto cracked = crack_request(line);
    if (!cracked) return 0;
    // A head has begun (the general way would say so too, bail out or not), and said so before
    // anything below can throw: the channel resets a started parser on every way out.
    started_ = true;
    // The header lines, as spans of `data` (the block will be a copy of it, byte for byte).
    auto offset = [p](std::string_view part) {
        return span{uint32_t(part.data() - p), uint32_t(part.size())};
    };
    size_t header_bytes = 0;
    for (;;) {
        const size_t h = find_line_break(p + at, n - at);
        const size_t end = line_end_at(p + at, n - at, h);
        if (end == 0) break;
        if (h == 0) {  // the blank line: the head is whole
            at += end;
            req_.block_.assign(std::string_view(p, at));
            req_.set_request_line(line, *cracked);
            end_of_head();
            return at;
        }
        const std::string_view field(p + at, h);
        header_bytes += h + 2;
        if (header_bytes > limits_.max_header_block || is_ows(field.front())) break;
        const auto split = split_header_line(field);
        if (!split) break;
        const std::string_view name = field.substr(0, split->colon);
        req_.add_field(offset(name), offset(split->value), name);
        at += end;
    }
    // Not the usual head: nothing taken, the general way reads it.
    req_.fields_.clear();
    req_.present_ = 0;
    return 0;
}

size_t request_parser::feed(std::string_view data) {
    // A fresh request whose head has arrived whole and plain, nearly every one: in one pass.
    size_t used = 0;
    if (state_ == status::request_line && line_.empty() && !leading_blank_)
        used = take_whole_head(data);
    while (used < data.size() && !finished()) {
        started_ = true;
        std::string_view rest(data.data() + used, data.size() - used);
        if (line_.empty() && state_ != status::first_chunk) {
            // The quick way, for a line that has arrived whole and holds no bare CR or NUL
            // (nearly every line): one scan finds its end. Anything else takes the careful way
            // below, from the same place.
            size_t k = find_line_break(rest.data(), rest.size());
            size_t end = line_end_at(rest.data(), rest.size(), k);
            if (end > 0) {
                used += end;
                std::string_view line(rest.data(), k);
                if (!count_line(line)) return used;
                process_line(line);
                continue;
            }
        }
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
            } else if (state_ == status::first_chunk && pending > max_chunk_line + 1) {
                fail(400, fmt::format("chunk line longer than {} bytes", max_chunk_line));
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
        if (state_ == status::first_chunk) {
            // Kept as received (its CR too): the channel's decoder reads it again.
            if (line.size() > max_chunk_line + 1) {
                fail(400, fmt::format("chunk line longer than {} bytes", max_chunk_line));
                return used;
            }
            first_chunk_line(line);
            line_.clear();
            continue;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!count_line(line)) return used;
        // (After the limits: a line too long is 414/431 wherever the reads split it.)
        if (has_cr_or_nul(line)) {
            fail(400, state_ == status::request_line ? "bare CR or NUL in the request line"
                                                     : "bare CR or NUL in a header line");
            return used;
        }
        process_line(line);
        line_.clear();
    }
    return used;
}

void request_parser::process_line(std::string_view line) {
    using span = parsed_request::span;
    auto& block = req_.block_;
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
        req_.set_request_line(line, *cracked);
        state_ = status::headers;
        return;
    }
    if (line.empty()) {
        end_of_head();
        return;
    }
    if (is_ows(line.front())) {
        // A folded line continues the previous header's value, joined with one space.
        if (req_.fields_.empty()) {
            fail(400, "continuation line right after the request line");
            return;
        }
        // ...but not a framing header's: "Content-Length:" + " 43" on the next line is 43 to us
        // and nothing (or an error) to a front end that does not unfold.
        if (is_framing_header(req_.view(req_.fields_.back().name))) {
            fail(400, fmt::format("folded {} line", req_.view(req_.fields_.back().name)));
            return;
        }
        std::string_view more = trim_ows(line);
        if (more.empty()) return;
        auto& value = req_.fields_.back().value;
        // The last value is at the end of the block: extend it in place.
        block.truncate(value.off + value.len);
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
    // The name: token bytes up to the colon. Anything else is a 400, whose reason
    // bad_header_name() works out.
    const auto split = split_header_line(line);
    if (!split) {
        bad_header_name(line);
        return;
    }
    const size_t colon = split->colon;
    const std::string_view value = split->value;
    // "Name: value" goes into the block as one piece (from the name to the value's end, the
    // colon and the spaces between included), the field's spans pointing at its parts.
    const uint32_t at = uint32_t(block.size());
    const size_t value_at = size_t(value.data() - line.data());
    block.append(line.data(), value_at + value.size());
    req_.add_field(span{at, uint32_t(colon)}, span{at + uint32_t(value_at), uint32_t(value.size())},
                   line.substr(0, colon));
}

void request_parser::bad_header_name(std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        fail(400, "header line without a name and a colon");
        return;
    }
    std::string_view name = line.substr(0, colon);
    if (std::any_of(name.begin(), name.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        // "Transfer-Encoding : chunked" is that header to some servers and an unknown one to us.
        fail(400, "whitespace in a header name");
        return;
    }
    fail(400, "a header name that is not a token");
}

void request_parser::end_of_head() {
    // Most heads have neither framing header: nothing to check.
    if (!req_.may_have("Content-Length") && !req_.may_have("Transfer-Encoding")) {
        state_ = status::complete;
        return;
    }
    bool has_length = false, has_te = false, chunked = false, chunked_before = false;
    uint64_t length = 0;
    for (const auto& f : req_.fields_) {
        std::string_view name = req_.view(f.name), value = req_.view(f.value);
        if (iequals(name, "Content-Length")) {
            // 1*DIGIT, at most 18 of them (always fits in 64 bits).
            bool digits = !value.empty() && value.size() <= 18 &&
                          std::all_of(value.begin(), value.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
            if (!digits) {
                fail(400, fmt::format("invalid Content-Length '{}'", printable(value)));
                return;
            }
            uint64_t v = 0;
            for (char c : value) v = v * 10 + uint64_t(c - '0');
            if (has_length && v != length) {
                fail(400, fmt::format("two different Content-Lengths ({} and {})", length, v));
                return;
            }
            has_length = true;
            length = v;
        } else if (iequals(name, "Transfer-Encoding")) {
            // The codings of every Transfer-Encoding line, in order, form one list.
            has_te = true;
            for_each_element(value, [&](std::string_view coding) {
                if (chunked) chunked_before = true;  // a coding after chunked
                chunked = iequals(coding, "chunked");
                return true;
            });
        }
    }
    if (has_te) {
        if (has_length) {
            fail(400, "both Content-Length and Transfer-Encoding");
            return;
        }
        if (!chunked || chunked_before) {
            fail(400, fmt::format("Transfer-Encoding '{}' does not end in one chunked",
                                  printable(req_.get_header("Transfer-Encoding").value_or(""))));
            return;
        }
        http_version v = classify_version(req_.version(), req_.has_version());
        if (v == http_version::none || v == http_version::http10) {
            fail(400, "Transfer-Encoding in a request without HTTP/1.1");
            return;
        }
        // A client that waits for "100 Continue" sends no chunk before it is answered.
        bool expects = false;
        for (const auto& f : req_.fields_) {
            if (!iequals(req_.view(f.name), "Expect")) continue;
            for_each_element(req_.view(f.value), [&](std::string_view e) {
                if (iequals(e, "100-continue")) expects = true;
                return !expects;
            });
        }
        if (v == http_version::http11 && !expects) {
            state_ = status::first_chunk;
            return;
        }
    }
    state_ = status::complete;
}

void request_parser::first_chunk_line(std::string_view line) {
    chunked_decoder check(max_chunk_line);
    check.feed(line, [](std::string_view) {});
    check.feed("\n", [](std::string_view) {});
    if (check.failed()) {
        fail(400, fmt::format("bad chunked body: {}", printable(check.error(), 100)));
        return;
    }
    auto& block = req_.block_;
    req_.chunk_line_ = parsed_request::span{uint32_t(block.size()), uint32_t(line.size())};
    block.append(line);
    req_.has_chunk_line_ = true;
    state_ = status::complete;
}

}  // namespace medusa::http
