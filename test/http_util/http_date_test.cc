// http_date: formatting, the three parsed forms, two-digit years, and malformed input.
#include "http/http_date.h"

#include <gtest/gtest.h>

#include <ctime>
#include <random>
#include <string>

namespace medusa::http {
namespace {

// 2025-06-01 00:00:00 GMT: the "now" that two-digit years are read against.
constexpr time_t june_2025 = 1748736000;

std::string strftime_gmt(time_t t) {  // the C library as the oracle
    struct tm g;
    gmtime_r(&t, &g);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &g);
    return buf;
}

TEST(HttpDate, BuildsRfc1123) {
    EXPECT_EQ(build_http_date(1000000000), "Sun, 09 Sep 2001 01:46:40 GMT");
    EXPECT_EQ(build_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(build_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(build_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(build_http_date(2147483648), "Tue, 19 Jan 2038 03:14:08 GMT");
    EXPECT_EQ(build_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(HttpDate, BuildClampsToFourDigitYears) {
    EXPECT_EQ(build_http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(build_http_date(253402300800 * 4), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(build_http_date(-62167219200 * 2), "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST(HttpDate, FormatWritesExactlyTheDate) {
    char buf[http_date_size + 1];
    buf[http_date_size] = '!';
    EXPECT_EQ(format_http_date(1000000000, buf), buf + http_date_size);
    EXPECT_EQ(std::string(buf, http_date_size), "Sun, 09 Sep 2001 01:46:40 GMT");
    EXPECT_EQ(buf[http_date_size], '!');
}

TEST(HttpDate, BuildMatchesStrftimeAndRoundTrips) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> any(-2208988800, 32503680000);  // 1900 .. 3000
    std::vector<time_t> times = {0,          1,          -1,         68169600,   951782400,
                                 951868800,  1078012800, 1709164800, 2147483647, 2147483648,
                                 4102444800, 4107542400, 253402300799};
    for (int i = 0; i < 20000; ++i) times.push_back(static_cast<time_t>(any(rng)));
    for (time_t t : times) {
        const std::string s = build_http_date(t);
        ASSERT_EQ(s, strftime_gmt(t)) << t;
        ASSERT_EQ(parse_http_date(s), t) << s;
    }
}

TEST(HttpDate, ParsesTheThreeForms) {
    // RFC 9110's own examples, which medusa's http_date.py quotes.
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", june_2025), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);  // medusa: ignored
    EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
    EXPECT_EQ(parse_http_date("Sun Nov 6 08:49:37 1994"), 784111777);
}

TEST(HttpDate, ParsesAsMedusaDoes) {
    // Case-insensitive (medusa lower-cases), a one-digit day, a four-digit RFC 850 year.
    EXPECT_EQ(parse_http_date("sun, 06 nov 1994 08:49:37 gmt"), 784111777);
    EXPECT_EQ(parse_http_date("SUN, 6 NOV 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("SUNDAY, 6-nov-1994 08:49:37 gmt"), 784111777);
    // The weekday is not checked against the date (medusa neither).
    EXPECT_EQ(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
    // Surrounding spaces and tabs of a header value.
    EXPECT_EQ(parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT \t"), 784111777);
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
}

TEST(HttpDate, TwoDigitYearsFollowRfc9110) {
    // More than 50 years in the future means the previous century.
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", june_2025), 784111777);
    const auto y2075 = parse_http_date("Wednesday, 01-Jan-75 00:00:00 GMT", june_2025);
    const auto y1976 = parse_http_date("Thursday, 01-Jan-76 00:00:00 GMT", june_2025);
    ASSERT_TRUE(y2075 && y1976);
    EXPECT_EQ(build_http_date(*y2075), "Tue, 01 Jan 2075 00:00:00 GMT");
    EXPECT_EQ(build_http_date(*y1976), "Thu, 01 Jan 1976 00:00:00 GMT");
    EXPECT_EQ(build_http_date(*parse_http_date("Wednesday, 01-Jan-70 00:00:00 GMT", june_2025)),
              "Wed, 01 Jan 2070 00:00:00 GMT");
    EXPECT_EQ(build_http_date(*parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT", june_2025)),
              "Sat, 01 Jan 2000 00:00:00 GMT");
    // Seen from 2001, "51" is 2051 and "52" is 1952.
    const time_t in_2001 = 1000000000;
    EXPECT_EQ(build_http_date(*parse_http_date("Sunday, 01-Jan-51 00:00:00 GMT", in_2001)),
              "Sun, 01 Jan 2051 00:00:00 GMT");
    EXPECT_EQ(build_http_date(*parse_http_date("Tuesday, 01-Jan-52 00:00:00 GMT", in_2001)),
              "Tue, 01 Jan 1952 00:00:00 GMT");
    // The same rule for the two-digit RFC 1123 year old clients send.
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 94 08:49:37 GMT", june_2025), 784111777);
    // Without `now`, the clock decides: 94 is 1994 for the next 19 years at least.
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
}

TEST(HttpDate, LeapDays) {
    EXPECT_TRUE(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"));
    EXPECT_TRUE(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Thu, 29 Feb 1900 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Thu, 30 Feb 2024 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 31 Apr 2024 00:00:00 GMT"));
    EXPECT_TRUE(parse_http_date("Fri, 31 Dec 2038 23:59:60 GMT"));  // a leap second
}

TEST(HttpDate, RejectsMalformed) {
    for (const char* bad : {
             "", " ", "garbage", "0", "Sun", "Sun,", "Sun, 06 Nov 1994", "Sun, 06 Nov 1994 08:49:37",
             "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT+1",
             "Sun, 06 Nov 1994 08:49:37 GMTx", "Sun, 06 Nov 1994 08:49:37 GMT garbage",
             "Sun,  06 Nov 1994 08:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov 1994  08:49:37 GMT", "Sun, 006 Nov 1994 08:49:37 GMT",
             "Sun, 06 Noo 1994 08:49:37 GMT", "Sun, 06 November 1994 08:49:37 GMT",
             "Sun, 06 Nov 199 08:49:37 GMT", "Sun, 06 Nov 19945 08:49:37 GMT",
             "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT",
             "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
             "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
             "Sun, 32 Oct 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 gmt\r\n",
             "Sunday, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
             "Sundae, 06-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37",
             "Sun Nov  6 08:49:37 94", "Sun Nov   6 08:49:37 1994", "Sun Nov  6 08:49:37 1994 GMT",
             "Sun, 06 Nov -994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT"}) {
        EXPECT_FALSE(parse_http_date(bad)) << bad;
    }
    EXPECT_FALSE(parse_http_date(std::string_view("Sun, 06 Nov 1994 08:49:37 GMT\0", 30)));
    EXPECT_FALSE(parse_http_date(std::string_view("Sun, 06 Nov\0 1994 08:49:37 GMT", 30)));
}

TEST(HttpDate, EveryProperPrefixOfAValidDateIsRejected) {
    for (std::string valid : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                              "Sun Nov  6 08:49:37 1994", "Wednesday, 09-Sep-2001 01:46:40 GMT"}) {
        ASSERT_TRUE(parse_http_date(valid, june_2025)) << valid;
        for (std::size_t n = 0; n < valid.size(); ++n) {
            // A copy of exactly n bytes, so ASan catches a read past the end.
            const std::string prefix = valid.substr(0, n);
            EXPECT_FALSE(parse_http_date(prefix, june_2025)) << '"' << prefix << '"';
        }
    }
}

TEST(HttpDate, NowIsTheCurrentDate) {
    const time_t before = time(nullptr);
    const std::string now(http_date_now());
    const time_t after = time(nullptr);
    const auto parsed = parse_http_date(now);
    ASSERT_TRUE(parsed) << now;
    EXPECT_GE(*parsed, before);
    EXPECT_LE(*parsed, after);
    EXPECT_EQ(now.size(), http_date_size);
}

}  // namespace
}  // namespace medusa::http
