#include "transcript/http_framing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace medusa::transcript {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_blank_line(std::string_view line) { return line == "\r\n" || line == "\n"; }

// "Name: value\r\n" -> value, if the line has that name.
std::optional<std::string_view> value_of(std::string_view line, std::string_view name) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(trim(line.substr(0, colon)), name)) return std::nullopt;
    return trim(line.substr(colon + 1));
}

std::optional<std::size_t> parse_decimal(std::string_view s) {
    if (s.empty() || s.size() > 15) return std::nullopt;
    std::size_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

// The chunk size of "1a;ext=x\r\n".
std::optional<std::size_t> parse_chunk_size(std::string_view line) {
    line = trim(line);
    line = line.substr(0, line.find(';'));
    line = trim(line);
    if (line.empty() || line.size() > 12) return std::nullopt;
    std::size_t n = 0;
    for (char c : line) {
        int d = c >= '0' && c <= '9' ? c - '0' : lower(c) >= 'a' && lower(c) <= 'f' ? lower(c) - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        n = n * 16 + static_cast<std::size_t>(d);
    }
    return n;
}

bool ends_in_chunked(std::string_view te) {
    te = trim(te);
    std::size_t comma = te.rfind(',');
    if (comma != std::string_view::npos) te = trim(te.substr(comma + 1));
    return iequals(te, "chunked");
}

int parse_status(const pattern& line) {
    // "HTTP/1.1 200 OK": the three digits after the first space, unless a glob hides them.
    std::size_t sp = line.bytes.find(' ');
    if (sp == std::string::npos || line.bytes.size() < sp + 4 || line.has_glob_in(sp + 1, sp + 3)) return -1;
    auto code = parse_decimal(std::string_view(line.bytes).substr(sp + 1, 3));
    return code ? static_cast<int>(*code) : -1;
}

// Where an expected body whose length a glob hides ends: at the next line that starts a response.
std::size_t next_status_line(const pattern& in, std::size_t from) {
    std::string_view b(in.bytes);
    for (std::size_t at = from; at < b.size();) {
        if (b.substr(at).starts_with("HTTP/")) return at;
        std::size_t nl = b.find('\n', at);
        if (nl == std::string_view::npos) break;
        at = nl + 1;
    }
    return b.size();
}

// Reads a chunked body starting at `at`, collecting the chunk data into `payload`.
struct chunk_reader {
    const pattern& in;
    std::size_t at;
    pattern payload;
    std::string problem;
    // Where a rest of the body is known not to frame (see glob_chunk), shared by the readers one
    // glob chunk starts; the outermost reader owns the table.
    std::vector<bool>* dead_ends;
    std::vector<bool> own_dead_ends;

    chunk_reader(const pattern& in, std::size_t at, std::vector<bool>* dead_ends = nullptr)
        : in(in), at(at), dead_ends(dead_ends) {}

    enum class outcome { done, need_more, unframable };

    outcome run() {
        const std::string& b = in.bytes;
        for (;;) {
            std::size_t nl = b.find('\n', at);
            if (nl == std::string::npos) return outcome::need_more;
            if (in.has_glob_in(at, nl)) {
                problem = "a {*} in a chunk-size line: the chunked body cannot be framed";
                return outcome::unframable;
            }
            auto size = parse_chunk_size(std::string_view(b).substr(at, nl + 1 - at));
            if (!size) {
                problem = fmt::format("bad chunk-size line \"{}\"", trim(std::string_view(b).substr(at, nl - at)));
                return outcome::unframable;
            }
            at = nl + 1;
            if (*size > 0 && in.has_glob_in(at, std::min(b.size(), at + *size))) return glob_chunk();
            if (*size == 0) {
                // Trailer fields, then the blank line.
                for (;;) {
                    std::size_t end = b.find('\n', at);
                    if (end == std::string::npos) return outcome::need_more;
                    std::string_view line = std::string_view(b).substr(at, end + 1 - at);
                    at = end + 1;
                    if (is_blank_line(line)) return outcome::done;
                }
            }
            if (b.size() - at < *size) return outcome::need_more;
            payload.append(in.slice(at, at + *size));
            at += *size;
            std::string_view rest = std::string_view(b).substr(at);
            if (rest.starts_with("\r\n")) {
                at += 2;
            } else if (rest.starts_with("\n")) {
                at += 1;
            } else if (rest.size() < 2 && std::string_view("\r\n").starts_with(rest)) {
                return outcome::need_more;
            } else {
                problem = fmt::format("chunk data of {} bytes is not followed by CRLF", *size);
                return outcome::unframable;
            }
        }
    }

    // A chunk whose data holds a {*} (expected text, a value masked in a dynamic page): its size
    // line counted the bytes the glob stands for, so it cannot say where the data ends. The data
    // then ends at the first line end after which the rest frames as the end of a chunked body
    // (more chunks, the last chunk, trailers, the blank line) reaching the end of the text or the
    // next response. "707\r\n<b>Up:</b> {*} secs\r\n\r\n0\r\n\r\n" gives "<b>Up:</b> {*} secs\r\n".
    //
    // The rest may hold glob chunks of its own, each trying every later line end: without a note
    // of the starts already found not to frame, n such chunks cost 2^n tries (a fuzzer-found hang,
    // kept in test/fuzz/regressions/transcript/). Whether a rest frames depends on its start
    // alone, and starts only grow, so each is tried once: at most lines x lines steps.
    outcome glob_chunk() {
        const std::string& b = in.bytes;
        if (!dead_ends) {
            own_dead_ends.assign(b.size() + 1, false);
            dead_ends = &own_dead_ends;
        }
        for (std::size_t nl = b.find('\n', at); nl != std::string::npos; nl = b.find('\n', nl + 1)) {
            if ((*dead_ends)[nl + 1]) continue;
            chunk_reader rest(in, nl + 1, dead_ends);
            if (rest.run() != outcome::done ||
                (rest.at != b.size() && !std::string_view(b).substr(rest.at).starts_with("HTTP/"))) {
                (*dead_ends)[nl + 1] = true;
                continue;
            }
            std::size_t data_end = nl > at && b[nl - 1] == '\r' ? nl - 1 : nl;
            payload.append(in.slice(at, data_end));
            if (in.has_glob_in(data_end, data_end)) payload.append_glob();  // "...{*}\r\n0\r\n"
            payload.append(rest.payload);
            at = rest.at;
            return outcome::done;
        }
        problem = "a chunk with a {*} in its data is not followed by the rest of a chunked body";
        return outcome::unframable;
    }
};

}  // namespace

std::optional<std::string> http_response::header(std::string_view name) const {
    for (const auto& line : header_lines) {
        auto v = value_of(line.bytes, name);
        if (!v) continue;
        if (line.has_globs()) return std::nullopt;
        return std::string(*v);
    }
    return std::nullopt;
}

split_result split_responses(const pattern& in, const std::vector<std::string>& methods,
                             std::size_t first_request, bool at_end, std::size_t max) {
    split_result out;
    const std::string& b = in.bytes;
    std::size_t pos = 0;
    auto need_more = [&](http_response& r, std::string problem) {
        r.end = b.size();
        if (at_end && out.problem.empty()) out.problem = std::move(problem);
        out.responses.push_back(std::move(r));
    };
    while ((pos < b.size() || in.has_glob_in(pos, pos)) && out.responses.size() < max) {
        http_response r;
        r.begin = pos;
        std::size_t nl = b.find('\n', pos);
        if (nl == std::string::npos) {
            r.status_line = in.slice(pos, b.size());
            need_more(r, fmt::format("response {} has no complete status line", out.responses.size() + 1));
            break;
        }
        r.status_line = in.slice(pos, nl + 1);
        r.status = parse_status(r.status_line);
        pos = nl + 1;
        bool head_done = false;
        while (!head_done) {
            nl = b.find('\n', pos);
            if (nl == std::string::npos) break;
            pattern line = in.slice(pos, nl + 1);
            pos = nl + 1;
            if (!line.has_globs() && is_blank_line(line.bytes)) {
                r.blank_line = std::move(line);
                head_done = true;
            } else {
                r.header_lines.push_back(std::move(line));
            }
        }
        if (!head_done) {
            r.header_lines.push_back(in.slice(pos, b.size()));
            need_more(r, fmt::format("response {} has no blank line ending its header block",
                                     out.responses.size() + 1));
            break;
        }

        std::size_t request = first_request + out.requests_answered;
        bool head = request < methods.size() && methods[request] == "HEAD";
        bool interim = r.status >= 100 && r.status < 200;
        bool has_length_header = false;
        for (const auto& l : r.header_lines) has_length_header |= value_of(l.bytes, "Content-Length").has_value();
        auto te = r.header("Transfer-Encoding");
        auto length = r.header("Content-Length");
        std::size_t body_begin = pos;
        if (head || interim || r.status == 204 || r.status == 304) {
            r.framing = body_framing::none;
            r.complete = true;
        } else if (te && ends_in_chunked(*te)) {
            r.framing = body_framing::chunked;
            chunk_reader reader(in, pos);
            auto outcome = reader.run();
            if (outcome == chunk_reader::outcome::need_more) {
                r.body = in.slice(body_begin, b.size());
                r.payload = reader.payload;
                need_more(r, fmt::format("response {}: the chunked body ends early", out.responses.size() + 1));
                break;
            }
            if (outcome == chunk_reader::outcome::unframable) {
                if (out.problem.empty()) out.problem = fmt::format("response {}: {}", out.responses.size() + 1, reader.problem);
                pos = at_end ? next_status_line(in, body_begin) : b.size();
                r.body = r.payload = in.slice(body_begin, pos);
                r.complete = at_end;
            } else {
                pos = reader.at;
                r.body = in.slice(body_begin, pos);
                r.payload = std::move(reader.payload);
                r.complete = true;
            }
        } else if (length || has_length_header) {
            r.framing = body_framing::length;
            auto n = length ? parse_decimal(*length) : std::nullopt;
            if (length && !n && out.problem.empty()) {
                out.problem = fmt::format("response {}: bad Content-Length \"{}\"", out.responses.size() + 1, *length);
            }
            if (!n || in.has_glob_in(body_begin, std::min(b.size(), body_begin + *n))) {
                // A glob hides the length or sits in the body: take the text up to the next response.
                pos = at_end ? next_status_line(in, body_begin) : b.size();
                r.complete = at_end;
            } else if (b.size() - body_begin < *n) {
                r.body = r.payload = in.slice(body_begin, b.size());
                need_more(r, fmt::format("response {}: Content-Length is {} but {} body bytes follow",
                                         out.responses.size() + 1, *n, b.size() - body_begin));
                break;
            } else {
                pos = body_begin + *n;
                r.complete = true;
            }
            r.body = r.payload = in.slice(body_begin, pos);
        } else {
            r.framing = body_framing::until_eof;
            pos = b.size();
            r.body = r.payload = in.slice(body_begin, pos);
            r.complete = at_end;
        }
        r.end = pos;
        bool complete = r.complete;
        out.responses.push_back(std::move(r));
        if (!complete) break;
        out.consumed = pos;
        if (!interim) ++out.requests_answered;
    }
    return out;
}

std::vector<std::string> request_methods(std::string_view sent) {
    std::vector<std::string> methods;
    std::size_t pos = 0;
    while (pos < sent.size()) {
        while (pos < sent.size() && (sent[pos] == '\r' || sent[pos] == '\n')) ++pos;
        if (pos == sent.size()) break;
        std::size_t nl = sent.find('\n', pos);
        std::string_view line = sent.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        methods.emplace_back(trim(line.substr(0, line.find(' '))));
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
        std::optional<std::size_t> length;
        bool chunked = false, head_done = false;
        while (!head_done) {
            nl = sent.find('\n', pos);
            if (nl == std::string_view::npos) return methods;
            std::string_view header = sent.substr(pos, nl + 1 - pos);
            pos = nl + 1;
            if (is_blank_line(header)) {
                head_done = true;
            } else if (auto v = value_of(header, "Content-Length")) {
                length = parse_decimal(*v);
            } else if (auto t = value_of(header, "Transfer-Encoding")) {
                chunked = ends_in_chunked(*t);
            }
        }
        if (chunked) {
            pattern rest(std::string(sent.substr(pos)));
            chunk_reader reader(rest, 0);
            if (reader.run() != chunk_reader::outcome::done) break;
            pos += reader.at;
        } else if (length) {
            pos += std::min(*length, sent.size() - pos);
        }
    }
    return methods;
}

}  // namespace medusa::transcript
