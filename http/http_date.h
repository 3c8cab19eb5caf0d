// http_date: the dates HTTP carries in Date, Last-Modified and If-Modified-Since (medusa's
// http_date.py).
//
// Writing always uses the one form RFC 9110 asks senders to use, the RFC 1123 "IMF-fixdate":
//     Sun, 06 Nov 1994 08:49:37 GMT
// Reading accepts the three forms RFC 9110 section 5.6.7 asks recipients to accept:
//     Sun, 06 Nov 1994 08:49:37 GMT     RFC 1123 (also with a one-digit day or a two-digit year)
//     Sunday, 06-Nov-94 08:49:37 GMT    RFC 850
//     Sun Nov  6 08:49:37 1994          ANSI C asctime()
// Matching is case-insensitive, as medusa's (it lower-cases the value first); spaces and tabs
// around the value are ignored. The weekday name must be one of the seven, but, as in medusa, it
// is not checked against the date.
//
// Two fixes over medusa (the port's "Differences from medusa", QUIRKS row 10):
//   - medusa ignores asctime dates, so an If-Modified-Since in that form always got a full 200;
//     here it parses.
//   - medusa reads the RFC 850 year "94" as the year 94 AD. Here a two-digit year means the year
//     of the current century, unless that is more than 50 years in the future, in which case it
//     is the previous century (RFC 9110 5.6.7): in 2025, "75" is 2075 and "76" is 1976.
// And one tightening: medusa hands impossible fields to mktime(), which quietly turns
// "31 Feb" into 3 March and hour 25 into the next day. Here an impossible date or time (day past
// the end of its month, hour > 23, minute > 59, second > 60) does not parse.
//
// Parsing and formatting are hand-written (no regex, no locale, no allocation while parsing): the
// server parses one of these per conditional request and formats one per reply.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace medusa::http {

// Length of every date build_http_date() writes: "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t http_date_size = 29;

// build_http_date(t): t (seconds since the epoch) as an RFC 1123 date in GMT. Times before year
// 0000 or after 9999 are clamped to those years' first and last second, so the result is always
// http_date_size bytes.
std::string build_http_date(time_t t);

// The same, written into out[0 .. http_date_size) with no allocation; returns out + http_date_size.
char* format_http_date(time_t t, char* out);

// parse_http_date(s): the time s names, or nullopt when s is none of the three forms. Two-digit
// years are resolved against the current time.
std::optional<time_t> parse_http_date(std::string_view s);

// The same, resolving a two-digit year against `now` instead of the clock (for tests, and for a
// caller that already has the time).
std::optional<time_t> parse_http_date(std::string_view s, time_t now);

// http_date_now(): build_http_date(time(nullptr)), formatted at most once per second per thread.
// The view points into a thread_local buffer that is rewritten in place when the second changes:
// use it at once (append it to a header block), copy it to keep it.
std::string_view http_date_now();

}  // namespace medusa::http
