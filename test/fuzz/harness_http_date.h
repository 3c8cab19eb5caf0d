// Fuzz harness: HTTP dates (http/http_date.h).
//
// Input: [8 bytes: a time to format][4 bytes: "now"][date text...].
//
// Properties:
//   - build_http_date() of any time_t is http_date_size bytes, equals format_http_date(), and
//     parses back to that time (clamped to the years 0000..9999 it can write);
//   - parse_http_date() never crashes, and a time it returns, formatted and parsed again, is the
//     same time: what the server compares for If-Modified-Since is stable.
#pragma once

#include <limits>

#include "http/http_date.h"
#include "test/fuzz/harness_util.h"

namespace medusa::fuzz {

namespace http_date_detail {

constexpr std::string_view target = "http_date";
constexpr int64_t first_second = -62167219200;  // 0000-01-01 00:00:00, the first year it writes
constexpr int64_t last_second = 253402300799;   // 9999-12-31 23:59:59, the last

inline void check_round_trip(time_t t, time_t now) {
    std::string s = http::build_http_date(t);
    require(s.size() == http::http_date_size, target, fmt::format("build_http_date({}) is '{}'", t, show(s)));
    char buf[http::http_date_size + 1] = {};
    require(http::format_http_date(t, buf) == buf + http::http_date_size, target, "format_http_date's end");
    require(std::string_view(buf, http::http_date_size) == s, target, "format_http_date differs from build");
    int64_t clamped = std::min<int64_t>(std::max<int64_t>(int64_t(t), first_second), last_second);
    auto back = http::parse_http_date(s, now);
    require(back.has_value() && int64_t(*back) == clamped, target,
            fmt::format("'{}' (from {}) parses to {}", s, t, back ? std::to_string(*back) : "nothing"));
}

}  // namespace http_date_detail

inline void http_date(std::string_view input) {
    using namespace http_date_detail;
    input_reader in(input);
    time_t t = time_t(int64_t(in.u64()));
    // "now" is a real clock reading: somewhere in 1970..2106, not any 64-bit value.
    time_t now = time_t(in.u32());
    std::string_view text = in.rest();

    check_round_trip(t, now);
    auto parsed = http::parse_http_date(text, now);
    if (!parsed) return;
    std::string again = http::build_http_date(*parsed);
    auto reparsed = http::parse_http_date(again, now);
    require(reparsed.has_value() && *reparsed == *parsed, target,
            fmt::format("'{}' parses to {}, written '{}', which parses to {}", show(text), *parsed, again,
                        reparsed ? std::to_string(*reparsed) : "nothing"));
    require(int64_t(*parsed) >= first_second && int64_t(*parsed) <= last_second + 1, target,
            fmt::format("'{}' parses to {}, outside the years 0000..9999", show(text), *parsed));
}

}  // namespace medusa::fuzz
