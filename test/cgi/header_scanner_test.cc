// header_scanner: the fixture scripts' results, the same result for every split of the same
// output, and the edge cases of the grammar (CRLF, Status, Location, limits, injection).
#include "cgi/header_scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>

#include "test/cgi/fixtures.h"

namespace medusa::cgi {
namespace {

using testing::cut;
using testing::fixture_scripts;
using testing::outcome;
using testing::run;
using testing::run_one;
using testing::run_writes;
using testing::script;

using fields = std::vector<header_field>;

// What each fixture script must give. medusa lost the last line end of `plain` and put a stray
// LF in front of `redirect`'s body (cgi_plain_no_headers, cgi_status_302); here the body is
// exactly what the script wrote after its header block.
struct expected {
    reply_kind kind;
    int status;
    std::string reason;
    fields headers;
    std::string body;
    scan_error error = scan_error::none;
    std::string data = {};
};

std::map<std::string, expected> expectations() {
    std::string big_body;
    for (int i = 0; i < 200; ++i) big_body += fmt::format("line {:03d} {}\n", i, std::string(40, 'x'));
    const fields text_plain{{"Content-Type", "text/plain"}};
    return {
        {"plain",
         {reply_kind::document, 200, "OK", {}, "Hello from the plain script.\nNo headers were written.\n"}},
        {"ctype", {reply_kind::document, 200, "OK", text_plain, "plain text body\nsecond line\n"}},
        {"ctype_crlf", {reply_kind::document, 200, "OK", text_plain, "body line 1\r\nbody line 2\r\n"}},
        {"redirect", {reply_kind::document, 302, "Moved", {{"Location", "/x"}}, "<a href=\"/x\">moved</a>\n"}},
        {"redirect_crlf",
         {reply_kind::document, 302, "Moved", {{"Location", "/x"}}, "<a href=\"/x\">moved</a>\r\n"}},
        {"notfound", {reply_kind::document, 404, "Not Found", text_plain, "nothing here\n"}},
        {"statusonly",
         {reply_kind::bad_gateway, 502, "Bad Gateway", {}, "", scan_error::no_header, "Status: 404 Not Found\n"}},
        {"tiny", {reply_kind::document, 200, "OK", text_plain, "written one byte at a time\nend\n"}},
        {"tiny_crlf", {reply_kind::document, 201, "Created", text_plain, "byte-wise CRLF\r\nend\r\n"}},
        {"lines",
         {reply_kind::document, 200, "OK", {{"Content-Type", "text/plain"}, {"X-Script", "lines"}},
          "first body line\nsecond body line\n"}},
        {"partial", {reply_kind::document, 200, "OK", text_plain, "this body has no trailing newline"}},
        {"headerlike",
         {reply_kind::document, 200, "OK", {{"Note", "this looks like a header"}}, "but this line does not\nlast\n"}},
        {"silent", {reply_kind::bad_gateway, 502, "Bad Gateway", {}, "", scan_error::no_header, ""}},
        {"big", {reply_kind::document, 200, "OK", text_plain, big_body}},
        {"nosuch",
         {reply_kind::document, 404, "Not Found", text_plain,
          "no script named 'nosuch'; scripts: big boom ctype ctype_crlf echo env headerlike lines notfound "
          "partial plain query redirect redirect_crlf silent statusonly tiny tiny_crlf\n"}},
    };
}

void expect_matches(const outcome& o, const expected& e) {
    EXPECT_EQ(o.heads, 1);
    EXPECT_FALSE(o.body_before_head);
    EXPECT_FALSE(o.empty_body_piece);
    EXPECT_EQ(o.result.kind, e.kind);
    EXPECT_EQ(o.result.status, e.status);
    EXPECT_EQ(o.result.reason, e.reason);
    EXPECT_EQ(o.result.headers, e.headers);
    EXPECT_EQ(o.body, e.body);
    EXPECT_EQ(o.result.error, e.error);
    EXPECT_EQ(o.result.data, e.data);
    EXPECT_EQ(o.result.has_content_type, o.result.header("content-type") != nullptr);
}

TEST(HeaderScannerFixture, EachScriptAsItWritesGivesTheExpectedReply) {
    const auto want = expectations();
    for (const script& s : fixture_scripts()) {
        SCOPED_TRACE(s.name);
        ASSERT_TRUE(want.count(s.name));
        expect_matches(run_writes(s.writes), want.at(s.name));
    }
}

TEST(HeaderScannerFixture, OnePieceAndByteAtATimeGiveTheSameReply) {
    const auto want = expectations();
    for (const script& s : fixture_scripts()) {
        SCOPED_TRACE(s.name);
        const std::string all = s.output();
        expect_matches(run_one(all), want.at(s.name));
        expect_matches(run_writes(testing::bytewise(all)), want.at(s.name));
    }
}

TEST(HeaderScannerFixture, EverySplitIntoTwoFeedsGivesTheSameReply) {
    const auto want = expectations();
    for (const script& s : fixture_scripts()) {
        SCOPED_TRACE(s.name);
        const std::string all = s.output();
        const outcome whole = run_one(all);
        for (size_t at = 0; at <= all.size(); ++at) {
            const outcome split = run(cut(all, {at}));
            ASSERT_EQ(split, whole) << "split at " << at;
        }
    }
}

TEST(HeaderScannerFixture, EverySplitIntoThreeFeedsOfTheShortScriptsGivesTheSameReply) {
    for (const script& s : fixture_scripts()) {
        const std::string all = s.output();
        if (all.size() > 120) continue;
        SCOPED_TRACE(s.name);
        const outcome whole = run_one(all);
        for (size_t a = 0; a <= all.size(); ++a)
            for (size_t b = a; b <= all.size(); ++b) ASSERT_EQ(run(cut(all, {a, b})), whole) << a << "," << b;
    }
}

TEST(HeaderScannerFixture, RandomSplitsGiveTheSameReply) {
    std::mt19937 rng(20010909);  // seeded: a failure reproduces
    for (const script& s : fixture_scripts()) {
        SCOPED_TRACE(s.name);
        const std::string all = s.output();
        const outcome whole = run_one(all);
        for (int round = 0; round < 300; ++round) {
            std::uniform_int_distribution<size_t> count(1, 12), pos(0, all.size());
            std::vector<size_t> at(count(rng));
            for (auto& p : at) p = pos(rng);
            std::sort(at.begin(), at.end());
            ASSERT_EQ(run(cut(all, at)), whole) << "round " << round;
        }
    }
}

// --- body pass-through ---------------------------------------------------------------------

TEST(HeaderScannerBody, BodyBytesPassThroughAtOnceAndAreNotRetained) {
    std::vector<std::string> pieces;
    int heads = 0;
    header_scanner scan([&](const scan_result&) { ++heads; }, [&](std::string_view d) { pieces.emplace_back(d); });
    scan.feed("Content-Type: text/plain\n");
    EXPECT_EQ(heads, 0);  // the header block is not over yet
    scan.feed("\nfirst");
    EXPECT_EQ(heads, 1);
    EXPECT_TRUE(scan.head_sent());
    EXPECT_EQ(pieces, std::vector<std::string>{"first"});
    scan.feed(" second");  // reported during this very feed(), before finish()
    EXPECT_EQ(pieces, (std::vector<std::string>{"first", " second"}));
    scan.feed("");
    EXPECT_EQ(pieces.size(), 2u);
    scan.finish();
    EXPECT_EQ(heads, 1);
    EXPECT_EQ(scan.body_bytes(), 12u);
}

TEST(HeaderScannerBody, TheFirstBodyLineIsStreamedBeforeItsLineEnd) {
    // A script that prints a long unbroken line and no headers: it is body from its first '<'.
    std::string body_seen;
    header_scanner scan([](const scan_result&) {}, [&](std::string_view d) { body_seen.append(d); });
    scan.feed("<html>");
    EXPECT_EQ(body_seen, "<html>");
    scan.feed(std::string(100000, 'x'));  // far over the header limit, but it is body
    EXPECT_EQ(body_seen.size(), 100006u);
    scan.finish();
}

TEST(HeaderScannerBody, TheBufferedStartOfTheFirstBodyLineIsNotLost) {
    // "Hello" could still be a header name ("Hello: x") until the space arrives.
    const outcome o = run({"Hel", "lo", " world\n", "more\n"});
    EXPECT_EQ(o.result.status, 200);
    EXPECT_TRUE(o.result.headers.empty());
    EXPECT_EQ(o.body, "Hello world\nmore\n");
}

TEST(HeaderScannerBody, OutputEndingInsideAPossibleHeaderNameIsBody) {
    EXPECT_EQ(run_one("Hello").body, "Hello");
    const outcome o = run({"Content-Type: text/plain\n", "Bye"});
    EXPECT_EQ(o.result.kind, reply_kind::document);
    EXPECT_EQ(o.result.headers, (fields{{"Content-Type", "text/plain"}}));
    EXPECT_EQ(o.body, "Bye");
}

TEST(HeaderScannerBody, ABlankLineFirstMeansNoHeadersAndIsNotBody) {
    const outcome o = run_one("\nbody\n");
    EXPECT_EQ(o.result.status, 200);
    EXPECT_TRUE(o.result.headers.empty());
    EXPECT_EQ(o.body, "body\n");
    EXPECT_EQ(run_one("\r\nbody\r\n").body, "body\r\n");
}

TEST(HeaderScannerBody, OnlyOneBlankLineIsConsumed) {
    EXPECT_EQ(run_one("A: b\n\n\nbody").body, "\nbody");
    EXPECT_EQ(run_one("A: b\r\n\r\n\r\nbody").body, "\r\nbody");
}

TEST(HeaderScannerBody, AnEmptyBodyIsFine) {
    const outcome o = run_one("Content-Type: text/plain\n\n");
    EXPECT_EQ(o.heads, 1);
    EXPECT_EQ(o.result.kind, reply_kind::document);
    EXPECT_EQ(o.body, "");
}

// --- line ends and header syntax -----------------------------------------------------------

TEST(HeaderScannerSyntax, CrlfAndLfLineEndsMayBeMixedAndNoCrStays) {
    const outcome o = run_one("Content-Type: text/plain\r\nX-A: 1\nX-B: 2\r\n\nbody\r\n");
    EXPECT_EQ(o.result.headers, (fields{{"Content-Type", "text/plain"}, {"X-A", "1"}, {"X-B", "2"}}));
    EXPECT_EQ(o.body, "body\r\n");
}

TEST(HeaderScannerSyntax, TheSpaceAfterTheColonIsOptionalAndValuesAreTrimmed) {
    const outcome o = run_one("Content-Type:text/plain\nX-Pad: \t padded \t\nX-Empty:\n\nb");
    EXPECT_EQ(o.result.headers,
              (fields{{"Content-Type", "text/plain"}, {"X-Pad", "padded"}, {"X-Empty", ""}}));
    EXPECT_TRUE(o.result.has_content_type);
    EXPECT_EQ(o.body, "b");
}

TEST(HeaderScannerSyntax, TabsInsideAValueAreKept) {
    EXPECT_EQ(run_one("X-T: a\tb\n\n").result.headers, (fields{{"X-T", "a\tb"}}));
}

TEST(HeaderScannerSyntax, ALineThatIsNotHeaderShapedStartsTheBody) {
    // A space before the colon, an empty name, a non-token byte: each is body text.
    for (std::string_view line : {"Name : value\n", ": value\n", "Na(me): value\n", "\tX: y\n", " X: y\n"}) {
        SCOPED_TRACE(line);
        const outcome o = run_one(std::string("A: 1\n") + std::string(line) + "tail\n");
        EXPECT_EQ(o.result.headers, (fields{{"A", "1"}}));
        EXPECT_EQ(o.body, std::string(line) + "tail\n");
    }
}

TEST(HeaderScannerSyntax, ACrThatDoesNotEndABlankLineStartsTheBody) {
    EXPECT_EQ(run_one("A: 1\n\rX\n").body, "\rX\n");
    EXPECT_EQ(run({"A: 1\n\r", "X\n"}).body, "\rX\n");
    EXPECT_EQ(run_one("A: 1\n\r").body, "\r");  // ended by the end of the output
    EXPECT_EQ(run_one("Hello\r\n").body, "Hello\r\n");
}

TEST(HeaderScannerSyntax, HeaderNamesAreTokensNotJustLettersAndDashes) {
    const outcome o = run_one("X_Under.Score~1: v\n\n");
    EXPECT_EQ(o.result.headers, (fields{{"X_Under.Score~1", "v"}}));
}

TEST(HeaderScannerSyntax, HeaderLookupIsCaseInsensitive) {
    const outcome o = run_one("content-TYPE: text/plain\nX-A: 1\n\n");
    ASSERT_NE(o.result.header("Content-Type"), nullptr);
    EXPECT_EQ(*o.result.header("Content-Type"), "text/plain");
    EXPECT_TRUE(o.result.has_content_type);
    EXPECT_EQ(o.result.header("X-B"), nullptr);
}

// --- Status --------------------------------------------------------------------------------

TEST(HeaderScannerStatus, StatusIsConsumedAndGivesCodeAndReason) {
    struct row {
        std::string line;
        int status;
        std::string reason;
    };
    for (const row& r : std::vector<row>{{"Status: 302 Moved", 302, "Moved"},
                                         {"Status: 404", 404, "Not Found"},
                                         {"Status:404", 404, "Not Found"},
                                         {"status:   201   Created  ", 201, "Created"},
                                         {"STATUS: 500 Internal  Error", 500, "Internal  Error"},
                                         {"Status: 200", 200, "OK"},
                                         {"Status: 299", 299, "Successful"},
                                         {"Status: 418 I'm a teapot", 418, "I'm a teapot"},
                                         {"Status: 599\t", 599, "Server Error"}}) {
        SCOPED_TRACE(r.line);
        const outcome o = run_one(r.line + "\nX-A: 1\n\nbody");
        EXPECT_EQ(o.result.kind, reply_kind::document);
        EXPECT_EQ(o.result.status, r.status);
        EXPECT_EQ(o.result.reason, r.reason);
        EXPECT_EQ(o.result.headers, (fields{{"X-A", "1"}}));
        EXPECT_EQ(o.result.header("status"), nullptr);
        EXPECT_EQ(o.body, "body");
    }
}

TEST(HeaderScannerStatus, MalformedStatusIsBadGateway) {
    for (std::string line : {"Status: OK", "Status: 99", "Status: 700", "Status: 600", "Status: 199 Early",
                             "Status: 100 Continue", "Status: 3020", "Status: 302Moved", "Status:", "Status: 30",
                             "Status: -302", "Status: 3O2"}) {
        SCOPED_TRACE(line);
        const outcome o = run_one(line + "\n\nbody");
        EXPECT_EQ(o.heads, 1);
        EXPECT_EQ(o.result.kind, reply_kind::bad_gateway);
        EXPECT_EQ(o.result.status, 502);
        EXPECT_EQ(o.result.reason, "Bad Gateway");
        EXPECT_EQ(o.result.error, scan_error::bad_status);
        EXPECT_EQ(o.body, "");  // the rest of the output is discarded
    }
}

TEST(HeaderScannerStatus, ASecondStatusIsBadGateway) {
    const outcome o = run_one("Status: 200 OK\nStatus: 404\n\n");
    EXPECT_EQ(o.result.error, scan_error::bad_status);
}

TEST(HeaderScannerStatus, StandardReasonPhrases) {
    EXPECT_EQ(standard_reason(200), "OK");
    EXPECT_EQ(standard_reason(302), "Found");
    EXPECT_EQ(standard_reason(404), "Not Found");
    EXPECT_EQ(standard_reason(502), "Bad Gateway");
    EXPECT_EQ(standard_reason(399), "Redirection");
    EXPECT_EQ(standard_reason(451), "Client Error");
}

// --- Location ------------------------------------------------------------------------------

TEST(HeaderScannerLocation, AnAbsoluteLocationWithoutStatusIsA302AtOnce) {
    int heads = 0;
    scan_result seen;
    header_scanner scan(
        [&](const scan_result& r) {
            ++heads;
            seen = r;
        },
        [](std::string_view) {});
    scan.feed("Location: http://example.com/\n\n");
    EXPECT_EQ(heads, 1);  // nothing to wait for: not a local redirect
    EXPECT_EQ(seen.kind, reply_kind::document);
    EXPECT_EQ(seen.status, 302);
    EXPECT_EQ(seen.reason, "Found");
    EXPECT_EQ(seen.headers, (fields{{"Location", "http://example.com/"}}));
    scan.finish();
    EXPECT_EQ(heads, 1);
}

TEST(HeaderScannerLocation, ALocalPathWithoutStatusOrBodyIsALocalRedirect) {
    int heads = 0;
    scan_result seen;
    header_scanner scan(
        [&](const scan_result& r) {
            ++heads;
            seen = r;
        },
        [](std::string_view) { ADD_FAILURE() << "no body expected"; });
    scan.feed("Location: /other/page?x=1\r\n\r\n");
    EXPECT_EQ(heads, 0);  // a body byte may still make it a client redirect
    scan.finish();
    ASSERT_EQ(heads, 1);
    EXPECT_EQ(seen.kind, reply_kind::local_redirect);
    EXPECT_EQ(seen.status, 302);
    EXPECT_EQ(seen.reason, "Found");
    ASSERT_NE(seen.header("location"), nullptr);
    EXPECT_EQ(*seen.header("location"), "/other/page?x=1");
}

TEST(HeaderScannerLocation, ALocalPathWithABodyIsAClientRedirectWithADocument) {
    const outcome o = run({"Location: /x\n\n", "", "<a href=\"/x\">here</a>"});
    EXPECT_EQ(o.result.kind, reply_kind::document);
    EXPECT_EQ(o.result.status, 302);
    EXPECT_EQ(o.result.reason, "Found");
    EXPECT_EQ(o.body, "<a href=\"/x\">here</a>");
    // The body may also start without a blank line: the first non-header line.
    EXPECT_EQ(run_one("Location: /x\nsee /x\n").result.kind, reply_kind::document);
}

TEST(HeaderScannerLocation, ANetworkPathIsNotLocal) {
    EXPECT_EQ(run_one("Location: //evil.example/x\n\n").result.kind, reply_kind::document);
}

TEST(HeaderScannerLocation, StatusWinsOverLocation) {
    const outcome o = run_one("Status: 301 Moved Permanently\nLocation: /x\n\n");
    EXPECT_EQ(o.result.kind, reply_kind::document);
    EXPECT_EQ(o.result.status, 301);
    EXPECT_EQ(o.result.reason, "Moved Permanently");
}

// --- limits and injection ------------------------------------------------------------------

TEST(HeaderScannerLimits, AHeaderBlockOfExactlyTheLimitIsAccepted) {
    const std::string block = "X-A: " + std::string(20, 'a') + "\n\n";  // 27 bytes
    header_scanner::limits lim{block.size()};
    const outcome o = run_one(block + "body", lim);
    EXPECT_EQ(o.result.kind, reply_kind::document);
    EXPECT_EQ(o.body, "body");
}

TEST(HeaderScannerLimits, OneByteOverTheLimitIsBadGatewayHoweverSplit) {
    const std::string block = "X-A: " + std::string(21, 'a') + "\n\n";  // 28 bytes
    header_scanner::limits lim{block.size() - 1};
    const std::string all = block + "body";
    for (size_t at = 0; at <= all.size(); ++at) {
        const outcome o = run(cut(all, {at}), lim);
        EXPECT_EQ(o.heads, 1);
        EXPECT_EQ(o.result.kind, reply_kind::bad_gateway);
        EXPECT_EQ(o.result.error, scan_error::header_too_large);
        EXPECT_EQ(o.result.status, 502);
        EXPECT_EQ(o.body, "");
        EXPECT_EQ(o.result.data, "");
    }
}

TEST(HeaderScannerLimits, TheDefaultLimitIs64KiB) {
    EXPECT_EQ(header_scanner::limits{}.max_header_bytes, 64u * 1024);
    const outcome huge = run_one("X-Big: " + std::string(70 * 1024, 'v') + "\n\nbody");
    EXPECT_EQ(huge.result.error, scan_error::header_too_large);
    const outcome fine = run_one("X-Big: " + std::string(60 * 1024, 'v') + "\n\nbody");
    EXPECT_EQ(fine.result.kind, reply_kind::document);
    EXPECT_EQ(fine.body, "body");
}

TEST(HeaderScannerLimits, TheOverflowIsReportedBeforeTheOutputEnds) {
    // A script that never stops writing header-shaped text must not fill memory.
    int heads = 0;
    header_scanner scan([&](const scan_result& r) {
        ++heads;
        EXPECT_EQ(r.error, scan_error::header_too_large);
    }, [](std::string_view) {}, header_scanner::limits{1024});
    for (int i = 0; i < 1000 && heads == 0; ++i) scan.feed("X-Spam: yes\n");
    EXPECT_EQ(heads, 1);
    scan.feed("\nbody");  // discarded
    scan.finish();
    EXPECT_EQ(heads, 1);
    EXPECT_EQ(scan.body_bytes(), 0u);
}

TEST(HeaderScannerInjection, ABareCrInsideAValueIsBadGateway) {
    for (const std::vector<std::string_view>& pieces :
         std::vector<std::vector<std::string_view>>{{"Location: /x\rSet-Cookie: a=b\n\nbody"},
                                                    {"Location: /x\r", "Set-Cookie: a=b\n\n"},
                                                    {"X-A: 1\r\r\n\n"}}) {
        const outcome o = run(pieces);
        EXPECT_EQ(o.heads, 1);
        EXPECT_EQ(o.result.kind, reply_kind::bad_gateway);
        EXPECT_EQ(o.result.error, scan_error::bad_header_value);
        EXPECT_EQ(o.body, "");
    }
}

TEST(HeaderScannerInjection, OtherControlBytesInAValueAreBadGateway) {
    EXPECT_EQ(run_one(std::string("X-A: a\0b\n\n", 10)).result.error, scan_error::bad_header_value);
    EXPECT_EQ(run_one("X-A: a\x1b[31m\n\n").result.error, scan_error::bad_header_value);
    EXPECT_EQ(run_one("X-A: a\x7f\n\n").result.error, scan_error::bad_header_value);
    // Bytes above 0x7f (obs-text, e.g. UTF-8) are allowed.
    EXPECT_EQ(run_one("X-A: caf\xc3\xa9\n\n").result.kind, reply_kind::document);
}

TEST(HeaderScannerContentLength, ADecimalLengthIsReported) {
    const outcome o = run_one("Content-Length: 4\n\nbody");
    ASSERT_TRUE(o.result.content_length.has_value());
    EXPECT_EQ(*o.result.content_length, 4u);
    EXPECT_EQ(o.result.headers, (fields{{"Content-Length", "4"}}));
    EXPECT_FALSE(run_one("X: y\n\nbody").result.content_length.has_value());
}

TEST(HeaderScannerContentLength, AMalformedOrRepeatedLengthIsBadGateway) {
    for (std::string text : {"Content-Length: 4x\n\n", "Content-Length: -1\n\n", "Content-Length:\n\n",
                             "Content-Length: 4, 4\n\n", "Content-Length: 99999999999999999999\n\n",
                             "Content-Length: 4\nContent-Length: 4\n\n"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(run_one(text).result.error, scan_error::bad_content_length);
    }
}

// --- the end of the output -----------------------------------------------------------------

TEST(HeaderScannerEnd, NoOutputIsNoHeader) {
    const outcome o = run({});
    EXPECT_EQ(o.heads, 1);
    EXPECT_EQ(o.result.kind, reply_kind::bad_gateway);
    EXPECT_EQ(o.result.error, scan_error::no_header);
    EXPECT_EQ(o.result.data, "");
}

TEST(HeaderScannerEnd, HeaderLinesWithoutTheBlankLineAreNoHeaderAndShowTheirText) {
    const outcome o = run({"Content-Type: text/plain\n", "X-A: <b>"});
    EXPECT_EQ(o.result.error, scan_error::no_header);
    EXPECT_EQ(o.result.data, "Content-Type: text/plain\nX-A: <b>");
}

TEST(HeaderScannerEnd, FinishIsIdempotentAndFeedAfterItThrows) {
    int heads = 0;
    header_scanner scan([&](const scan_result&) { ++heads; }, [](std::string_view) {});
    scan.feed("X: y\n\nbody");
    scan.finish();
    scan.finish();
    EXPECT_EQ(heads, 1);
    EXPECT_THROW(scan.feed("more"), std::logic_error);
}

TEST(HeaderScannerEnd, ResultIsAvailableAfterTheHead) {
    header_scanner scan([](const scan_result&) {}, [](std::string_view) {});
    EXPECT_FALSE(scan.head_sent());
    scan.feed("Status: 404\n\n");
    EXPECT_TRUE(scan.head_sent());
    EXPECT_EQ(scan.result().status, 404);
}

TEST(HeaderScannerEnd, DescribeNamesEveryError) {
    EXPECT_EQ(describe(scan_error::no_header), "No Header from CGI Script");
    for (auto e : {scan_error::header_too_large, scan_error::bad_header_value, scan_error::bad_status,
                   scan_error::bad_content_length})
        EXPECT_NE(describe(e).find("CGI Script"), std::string_view::npos);
}

}  // namespace
}  // namespace medusa::cgi
