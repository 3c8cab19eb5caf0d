// Fuzz harness: the CGI header-scanning writer (cgi/header_scanner.h).
//
// Input: [limit][split seed][script output...]. The limit byte picks a small header limit
// (8..512 bytes) unless its top bit is set (then the default 64 KiB).
//
// Properties:
//   - the same output whole, cut at random points and cut into single bytes gives the same
//     scan_result and the same body bytes (the scanner's key promise);
//   - on_head runs exactly once (by finish() at the latest); on_body runs only after it, never
//     with an empty piece and never after a bad_gateway head; body_bytes() counts what it got;
//   - a bad_gateway result has an error, a document none; Status is never among the headers;
//     the status code is in 200..599.
#pragma once

#include "cgi/header_scanner.h"
#include "test/fuzz/harness_util.h"

namespace medusa::fuzz {

namespace cgi_scanner_detail {

constexpr std::string_view target = "cgi_scanner";

struct outcome {
    cgi::scan_result head;
    std::string body;
};

inline std::string show_result(const cgi::scan_result& r) {
    std::string s = fmt::format("kind={} status={} reason=[{}] error={} ctype={} clen={} data=[{}]",
                                int(r.kind), r.status, show(r.reason), int(r.error), r.has_content_type,
                                r.content_length ? std::to_string(*r.content_length) : "-", show(r.data, 60));
    for (const auto& h : r.headers) s += fmt::format(" [{}: {}]", show(h.name), show(h.value));
    return s;
}

inline outcome run(cgi::header_scanner::limits lim, const std::vector<std::string_view>& pieces) {
    outcome o;
    int heads = 0;
    cgi::header_scanner scan(
        [&](const cgi::scan_result& r) {
            ++heads;
            o.head = r;
        },
        [&](std::string_view body) {
            require(heads == 1, target, "on_body before on_head");
            require(!body.empty(), target, "on_body got an empty piece");
            require(o.head.kind != cgi::reply_kind::bad_gateway, target, "on_body after a bad_gateway head");
            o.body.append(body);
        },
        lim);
    for (std::string_view p : pieces) {
        scan.feed(p);
        require(heads <= 1, target, "on_head ran twice");
        require(scan.head_sent() == (heads == 1), target, "head_sent() disagrees with on_head");
    }
    scan.finish();
    scan.finish();  // idempotent
    require(heads == 1, target, fmt::format("on_head ran {} times by finish()", heads));
    require(scan.result() == o.head, target, "result() differs from what on_head got");
    require(scan.body_bytes() == o.body.size(), target, "body_bytes() differs from the body handed out");
    bool threw = false;
    try {
        scan.feed("x");
    } catch (const std::logic_error&) {
        threw = true;
    }
    require(threw, target, "feed() after finish() did not throw");

    const cgi::scan_result& r = o.head;
    require((r.kind == cgi::reply_kind::bad_gateway) == (r.error != cgi::scan_error::none), target,
            "kind and error disagree");
    if (r.kind != cgi::reply_kind::bad_gateway)
        require(r.status >= 200 && r.status <= 599, target, fmt::format("status {}", r.status));
    for (const auto& h : r.headers) {
        require(!h.name.empty(), target, "an empty header name");
        require(h.value.find_first_of("\r\n") == std::string::npos, target, "CR or LF in a header value");
        if (r.kind != cgi::reply_kind::bad_gateway) {
            bool is_status = h.name.size() == 6;
            for (size_t i = 0; is_status && i < 6; ++i) is_status = (h.name[i] | 0x20) == "status"[i];
            require(!is_status, target, "Status among the reported headers");
        }
    }
    return o;
}

}  // namespace cgi_scanner_detail

inline void cgi_scanner(std::string_view input) {
    using namespace cgi_scanner_detail;
    input_reader in(input);
    uint8_t sel = in.byte();
    uint8_t seed = in.byte();
    std::string_view data = in.rest();
    cgi::header_scanner::limits lim;
    if ((sel & 0x80) == 0) lim.max_header_bytes = 8 + size_t(sel) * 4;

    outcome whole = run(lim, {data});
    auto same = [&](const outcome& o, std::string_view how) {
        require(o.head == whole.head && o.body == whole.body, target,
                fmt::format("{} scan differs:\n whole: {} body [{}]\n {}: {} body [{}]", how, show_result(whole.head),
                            show(whole.body), how, show_result(o.head), show(o.body)));
    };
    same(run(lim, split(data, seed, 1 + seed % 29)), "split");
    if (data.size() <= 4096) same(run(lim, bytewise(data)), "bytewise");
}

}  // namespace medusa::fuzz
