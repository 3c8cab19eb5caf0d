// http_date: RFC 1123 / RFC 850 / asctime dates, written and read by hand (see http_date.h).
#include "http/http_date.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cstdint>

namespace medusa::http {

namespace {

constexpr const char* short_days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view long_days[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                           "thursday", "friday", "saturday"};
constexpr const char* months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct civil {
    int64_t year;
    unsigned month;  // 1..12
    unsigned day;    // 1..31
};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). Doing this
// ourselves rather than calling timegm() keeps the time zone machinery out of the hot path and
// works for any year.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    static constexpr unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

// Floor division, so that one second before the epoch is day -1, 23:59:59.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// First and last second build_http_date can write with a four-digit year.
constexpr int64_t min_time = -62167219200;  // 0000-01-01 00:00:00
constexpr int64_t max_time = 253402300799;  // 9999-12-31 23:59:59

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// A cursor over the date text. Each reader consumes what it matched and returns false (leaving
// the cursor wherever it got to) when the text does not match; the parse then fails as a whole.
struct cursor {
    std::string_view s;
    std::size_t i = 0;

    bool at_end() const { return i == s.size(); }

    bool lit(char c) {
        if (i < s.size() && ascii_lower(s[i]) == c) {
            ++i;
            return true;
        }
        return false;
    }

    bool word(std::string_view lower) {  // case-insensitive
        if (s.size() - i < lower.size()) return false;
        for (std::size_t k = 0; k < lower.size(); ++k)
            if (ascii_lower(s[i + k]) != lower[k]) return false;
        i += lower.size();
        return true;
    }

    // Between min_n and max_n decimal digits; `n` says how many there were.
    bool digits(std::size_t min_n, std::size_t max_n, int& value, std::size_t& n) {
        value = 0;
        n = 0;
        while (n < max_n && i < s.size() && s[i] >= '0' && s[i] <= '9') {
            value = value * 10 + (s[i] - '0');
            ++i;
            ++n;
        }
        // More digits than allowed ("1994x" is fine to stop at, "19945" is not).
        if (i < s.size() && s[i] >= '0' && s[i] <= '9') return false;
        return n >= min_n;
    }

    bool digits(std::size_t min_n, std::size_t max_n, int& value) {
        std::size_t n;
        return digits(min_n, max_n, value, n);
    }

    // Three letters naming a month: 1..12, or 0.
    unsigned month() {
        static constexpr std::string_view names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
        for (unsigned m = 0; m < 12; ++m)
            if (word(names[m])) return m + 1;
        return 0;
    }

    // "hh:mm:ss", two digits each.
    bool time_of_day(int& h, int& m, int& sec) {
        return digits(2, 2, h) && lit(':') && digits(2, 2, m) && lit(':') && digits(2, 2, sec);
    }
};

// The year a two-digit year stands for, seen from `now` (RFC 9110 5.6.7). Only the rare
// two-digit forms ask the clock, when the caller gave no time.
int64_t resolve_two_digit_year(int yy, const time_t* given_now) {
    const time_t now = given_now ? *given_now : time(nullptr);
    const int64_t this_year = civil_from_days(floor_div(now, 86400)).year;
    int64_t year = this_year - (this_year % 100 + 100) % 100 + yy;
    if (year > this_year + 50) year -= 100;
    return year;
}

std::optional<time_t> to_time(int64_t year, unsigned month, int day, int h, int m, int sec) {
    if (month < 1 || month > 12) return std::nullopt;
    if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, month)) return std::nullopt;
    if (h > 23 || m > 59 || sec > 60) return std::nullopt;
    const int64_t t = days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 +
                      h * 3600 + m * 60 + sec;
    // "Fri, 31 Dec 9999 23:59:60 GMT" is the one date past the last second build_http_date can
    // write: refuse it, so every parsed time formats and parses back to itself.
    if (t > max_time) return std::nullopt;
    return static_cast<time_t>(t);
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

}  // namespace

char* format_http_date(time_t t, char* out) {
    int64_t secs = static_cast<int64_t>(t);
    if (secs < min_time) secs = min_time;
    if (secs > max_time) secs = max_time;
    const int64_t days = floor_div(secs, 86400);
    const auto sod = static_cast<int>(secs - days * 86400);
    const civil c = civil_from_days(days);
    const auto wday = static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
    return fmt::format_to(out, FMT_COMPILE("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT"),
                          short_days[wday], c.day, months[c.month - 1], c.year, sod / 3600,
                          sod / 60 % 60, sod % 60);
}

std::string build_http_date(time_t t) {
    char buf[http_date_size];
    format_http_date(t, buf);
    return std::string(buf, http_date_size);
}

// The three forms, tried by what follows the weekday name.
static std::optional<time_t> parse(std::string_view s, const time_t* now) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);

    cursor c{s};
    // The weekday: its spelling and what follows it say which of the three forms this is.
    std::size_t name_end = 0;
    while (name_end < s.size() && ascii_lower(s[name_end]) >= 'a' && ascii_lower(s[name_end]) <= 'z')
        ++name_end;
    const std::string_view name = s.substr(0, name_end);
    bool short_name = false, long_name = false;
    for (int d = 0; d < 7; ++d) {
        cursor n{name};
        if (name.size() == 3 && n.word(long_days[d].substr(0, 3))) short_name = true;
        if (n.word(long_days[d]) && n.at_end()) long_name = true;
    }
    c.i = name_end;

    int day = 0, year = 0, h = 0, m = 0, sec = 0;
    std::size_t year_digits = 0;
    unsigned month = 0;

    if (short_name && c.lit(',')) {
        // RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT" (medusa also takes a one-digit day).
        if (!(c.lit(' ') && c.digits(1, 2, day) && c.lit(' ') && (month = c.month()) != 0 &&
              c.lit(' ') && c.digits(2, 4, year, year_digits) && year_digits != 3 && c.lit(' ') &&
              c.time_of_day(h, m, sec) && c.lit(' ') && c.word("gmt") && c.at_end()))
            return std::nullopt;
    } else if (long_name && c.lit(',')) {
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
        if (!(c.lit(' ') && c.digits(1, 2, day) && c.lit('-') && (month = c.month()) != 0 &&
              c.lit('-') && c.digits(2, 4, year, year_digits) && year_digits != 3 && c.lit(' ') &&
              c.time_of_day(h, m, sec) && c.lit(' ') && c.word("gmt") && c.at_end()))
            return std::nullopt;
    } else if (short_name && c.lit(' ')) {
        // asctime: "Sun Nov  6 08:49:37 1994" (the day is space-padded; one space is tolerated).
        if (!((month = c.month()) != 0 && c.lit(' ')))
            return std::nullopt;
        c.lit(' ');
        if (!(c.digits(1, 2, day) && c.lit(' ') && c.time_of_day(h, m, sec) && c.lit(' ') &&
              c.digits(4, 4, year, year_digits) && c.at_end()))
            return std::nullopt;
    } else {
        return std::nullopt;
    }

    const int64_t full_year = year_digits == 2 ? resolve_two_digit_year(year, now) : year;
    return to_time(full_year, month, day, h, m, sec);
}

std::optional<time_t> parse_http_date(std::string_view s, time_t now) { return parse(s, &now); }

std::optional<time_t> parse_http_date(std::string_view s) { return parse(s, nullptr); }

std::string_view http_date_now() {
    // One formatted date per thread per second: a busy server answers thousands of requests in
    // the same second, and they all carry the same Date header.
    struct cache {
        time_t second = static_cast<time_t>(-1);
        char text[http_date_size] = {};
    };
    thread_local cache c;
    const time_t now = time(nullptr);
    if (now != c.second) {
        format_http_date(now, c.text);
        c.second = now;
    }
    return {c.text, http_date_size};
}

}  // namespace medusa::http
