// The deterministic scripts of the `cgi` transcript fixture (transcripts/CGI_FIXTURE.md), as the
// exact list of write() calls each one makes, and a harness that runs a header_scanner over a
// list of pieces and records everything it reported.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cgi/header_scanner.h"

namespace medusa::cgi::testing {

struct script {
    std::string name;
    std::vector<std::string> writes;  // one element per stdout.write() call

    std::string output() const {
        std::string all;
        for (const auto& w : writes) all += w;
        return all;
    }
};

inline std::vector<std::string> bytewise(std::string_view text) {
    std::vector<std::string> out;
    for (char c : text) out.emplace_back(1, c);
    return out;
}

inline std::vector<script> fixture_scripts() {
    std::vector<script> s;
    s.push_back({"plain", {"Hello from the plain script.\nNo headers were written.\n"}});
    s.push_back({"ctype", {"Content-Type: text/plain\n\nplain text body\nsecond line\n"}});
    s.push_back({"ctype_crlf", {"Content-Type: text/plain\r\n\r\nbody line 1\r\nbody line 2\r\n"}});
    s.push_back({"redirect", {"Status: 302 Moved\nLocation: /x\n\n<a href=\"/x\">moved</a>\n"}});
    s.push_back({"redirect_crlf", {"Status: 302 Moved\r\nLocation: /x\r\n\r\n<a href=\"/x\">moved</a>\r\n"}});
    s.push_back({"notfound", {"Status: 404 Not Found\nContent-Type: text/plain\n\nnothing here\n"}});
    s.push_back({"statusonly", {"Status: 404 Not Found\n"}});
    s.push_back({"tiny", bytewise("Content-Type: text/plain\n\nwritten one byte at a time\nend\n")});
    s.push_back({"tiny_crlf",
                 bytewise("Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nbyte-wise CRLF\r\nend\r\n")});
    s.push_back({"lines",
                 {"Content-Type: text/plain\n", "X-Script: lines\n", "\n", "first body line\n", "second body line\n"}});
    s.push_back({"partial", {"Content-Type: text/plain\n\nthis body has no trailing newline"}});
    s.push_back({"headerlike", {"Note: this looks like a header\nbut this line does not\nlast\n"}});
    s.push_back({"silent", {}});
    script big{"big", {"Content-Type: text/plain\n\n"}};
    for (int i = 0; i < 200; ++i) big.writes.push_back(fmt::format("line {:03d} {}\n", i, std::string(40, 'x')));
    s.push_back(big);
    // main() itself, for /cgi/nosuch: two writes.
    s.push_back({"nosuch",
                 {"Status: 404 Not Found\nContent-Type: text/plain\n\n",
                  "no script named 'nosuch'; scripts: big boom ctype ctype_crlf echo env headerlike lines "
                  "notfound partial plain query redirect redirect_crlf silent statusonly tiny tiny_crlf\n"}});
    return s;
}

// Everything a scanner reported for one run.
struct outcome {
    int heads = 0;                  // on_head calls (must be 1)
    scan_result result;             // what on_head reported
    std::string body;               // every on_body piece, concatenated
    bool body_before_head = false;  // on_body was called before on_head
    bool empty_body_piece = false;  // on_body was called with nothing
    friend bool operator==(const outcome&, const outcome&) = default;
};

inline outcome run(const std::vector<std::string_view>& pieces, header_scanner::limits lim = {}) {
    outcome o;
    header_scanner scan(
        [&](const scan_result& r) {
            ++o.heads;
            o.result = r;
        },
        [&](std::string_view data) {
            if (o.heads == 0) o.body_before_head = true;
            if (data.empty()) o.empty_body_piece = true;
            o.body.append(data);
        },
        lim);
    for (auto p : pieces) scan.feed(p);
    scan.finish();
    return o;
}

inline outcome run_writes(const std::vector<std::string>& writes, header_scanner::limits lim = {}) {
    return run(std::vector<std::string_view>(writes.begin(), writes.end()), lim);
}

inline outcome run_one(std::string_view text, header_scanner::limits lim = {}) { return run({text}, lim); }

// `text` cut at the given increasing positions.
inline std::vector<std::string_view> cut(std::string_view text, const std::vector<size_t>& at) {
    std::vector<std::string_view> pieces;
    size_t from = 0;
    for (size_t p : at) {
        pieces.push_back(text.substr(from, p - from));
        from = p;
    }
    pieces.push_back(text.substr(from));
    return pieces;
}

}  // namespace medusa::cgi::testing
