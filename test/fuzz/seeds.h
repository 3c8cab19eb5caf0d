// Seed inputs for the fuzz targets, cut out of a recorded transcript: what the client sent feeds
// the request parser and the framing, what the server answered feeds the CGI scanner (a reply
// without its status line is shaped like a script's output), the chunked decoder (the bytes
// after a header block) and the date parser (the values of date headers), and the transcript's
// text feeds the transcript parser. Each seed carries the control bytes its harness reads first
// (harness_*.h), chosen so that the defaults apply and the payload is read as it is.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcript/transcript.h"

namespace medusa::fuzz {

struct seed {
    std::string target;
    std::string bytes;
};

namespace seeds_detail {

// Values of the date-carrying headers in `text` ("If-Modified-Since: <value>\r\n").
inline std::vector<std::string> date_values(std::string_view text) {
    std::vector<std::string> out;
    for (std::string_view name : {"If-Modified-Since:", "Last-Modified:", "Date:", "Expires:"}) {
        for (size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
            size_t start = at + name.size();
            size_t end = text.find_first_of("\r\n", start);
            std::string_view v = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            if (!v.empty()) out.emplace_back(v);
        }
    }
    return out;
}

}  // namespace seeds_detail

// Every seed one transcript gives. `text` is the file's text; `t` its parse, when it parsed.
inline std::vector<seed> seeds_from_transcript(std::string_view text, const transcript::transcript* t) {
    using std::string;
    std::vector<seed> out;
    out.push_back({"transcript", string(text)});
    if (!t) return out;

    string sent, received;
    for (const auto& s : t->steps) {
        if (s.kind == transcript::step_kind::send) sent += s.bytes.bytes;
        if (s.kind == transcript::step_kind::expect) received += s.bytes.bytes;
    }
    // Defaults ("\x80": default limits) and a short random split ("\x07").
    out.push_back({"request_parser", string("\x80\x07", 2) + sent});
    // Small limits: the same request meets 414 and 431.
    out.push_back({"request_parser", string("\x35\x03", 2) + sent});
    // The framing http_channel uses: a header block up to CRLFCRLF, then a count from the record.
    out.push_back({"chat_framing", string("\x83\x05\x02\x00\x03\r\n\r\n\x03\x00", 11) + sent});
    out.push_back({"chat_framing", string("\x02\x09\x01\x00\x01\r\n", 7) + received});

    // Each response: status line dropped (a script's output shape), body after the header block.
    for (size_t at = received.find("HTTP/"); at != string::npos;) {
        size_t next = received.find("HTTP/", at + 1);
        string one = received.substr(at, next == string::npos ? string::npos : next - at);
        size_t eol = one.find('\n');
        if (eol != string::npos) out.push_back({"cgi_scanner", string("\x80\x0b", 2) + one.substr(eol + 1)});
        size_t blank = one.find("\r\n\r\n");
        if (blank != string::npos) out.push_back({"chunked", string("\x80\x05", 2) + one.substr(blank + 4)});
        at = next;
    }
    for (const auto& d : seeds_detail::date_values(sent + received)) {
        // [time to format: 1000000000][now: 1750000000][the date text]
        out.push_back({"http_date", string("\x00\xca\x9a\x3b\x00\x00\x00\x00\x80\xe1\x4e\x68", 12) + d});
    }
    return out;
}

}  // namespace medusa::fuzz
