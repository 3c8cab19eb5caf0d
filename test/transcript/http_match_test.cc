// Splitting HTTP responses and comparing a turn structurally.
#include <gtest/gtest.h>

#include "transcript/http_framing.h"
#include "transcript/matcher.h"
#include "transcript/notation.h"

namespace medusa::transcript {
namespace {

pattern text(std::string_view t) {
    pattern p;
    std::string error;
    EXPECT_TRUE(parse_text(t, line_kind::expect, p, error)) << error;
    return p;
}

const std::vector<std::string> gets(5, "GET");

TEST(HttpSplit, ContentLength) {
    pattern in("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    split_result r = split_responses(in, gets, 0, false);
    ASSERT_EQ(r.responses.size(), 2u);
    EXPECT_EQ(r.responses[0].status, 200);
    EXPECT_EQ(r.responses[0].framing, body_framing::length);
    EXPECT_EQ(r.responses[0].body.bytes, "hello");
    EXPECT_EQ(r.responses[1].status, 404);
    EXPECT_TRUE(r.responses[1].complete);
    EXPECT_EQ(r.consumed, in.bytes.size());
    EXPECT_EQ(r.requests_answered, 2u);

    split_result partial = split_responses(pattern("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"), gets, 0, false);
    ASSERT_EQ(partial.responses.size(), 1u);
    EXPECT_FALSE(partial.responses[0].complete);
    EXPECT_EQ(partial.consumed, 0u);
}

TEST(HttpSplit, ChunkedBodyLosesItsFraming) {
    pattern in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n");
    split_result r = split_responses(in, gets, 0, false);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_TRUE(r.responses[0].complete);
    EXPECT_EQ(r.responses[0].framing, body_framing::chunked);
    EXPECT_EQ(r.responses[0].payload.bytes, "hello!");
    EXPECT_EQ(r.responses[0].body.bytes, "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n");
    // Cut anywhere before the end, it is incomplete.
    for (std::size_t cut = 45; cut < in.bytes.size(); ++cut) {
        SCOPED_TRACE(cut);
        auto part = split_responses(pattern(in.bytes.substr(0, cut)), gets, 0, false);
        EXPECT_FALSE(part.responses.back().complete);
    }
}

TEST(HttpSplit, UntilEndOfFile) {
    pattern in("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nno length here");
    EXPECT_FALSE(split_responses(in, gets, 0, false).responses[0].complete);
    split_result at_eof = split_responses(in, gets, 0, true);
    EXPECT_TRUE(at_eof.responses[0].complete);
    EXPECT_EQ(at_eof.responses[0].framing, body_framing::until_eof);
    EXPECT_EQ(at_eof.responses[0].body.bytes, "no length here");
}

TEST(HttpSplit, HeadAnd304And1xxHaveNoBody) {
    pattern in(
        "HTTP/1.1 200 OK\r\nContent-Length: 70\r\n\r\n"            // answers HEAD
        "HTTP/1.1 100 Continue\r\n\r\n"                           // interim: answers nothing
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 115\r\n\r\n"
        "HTTP/1.1 204 No Content\r\n\r\n");
    std::vector<std::string> methods = {"HEAD", "GET", "GET"};
    split_result r = split_responses(in, methods, 0, false);
    ASSERT_EQ(r.responses.size(), 4u);
    for (const auto& resp : r.responses) {
        EXPECT_TRUE(resp.complete);
        EXPECT_EQ(resp.framing, body_framing::none);
        EXPECT_TRUE(resp.body.empty());
    }
    EXPECT_EQ(r.requests_answered, 3u);
    EXPECT_EQ(r.consumed, in.bytes.size());
}

TEST(HttpSplit, RequestMethodsSkipBodies) {
    auto m = request_methods(
        "POST /a HTTP/1.1\r\nContent-Length: 7\r\n\r\nHEAD x\r\n"
        "\r\nHEAD /b HTTP/1.1\r\n\r\n"
        "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nGET\r\n0\r\n\r\n"
        "HELLO\r\n\r\n");
    EXPECT_EQ(m, (std::vector<std::string>{"POST", "HEAD", "PUT", "HELLO"}));
}

TEST(HttpSplit, GlobHidingTheLengthRunsToTheNextResponse) {
    pattern e = text("HTTP/1.1 200 OK\\r\\nContent-Length: {*}\\r\\n\\r\\nbody {*}\\nHTTP/1.1 204 No Content\\r\\n\\r\\n");
    split_result r = split_responses(e, gets, 0, true);
    ASSERT_EQ(r.responses.size(), 2u);
    EXPECT_TRUE(r.problem.empty()) << r.problem;
    EXPECT_EQ(r.responses[0].body.bytes, "body \n");
    EXPECT_EQ(r.responses[1].status, 204);
}

turn_spec http_turn(std::string_view expected, bool strict = false) {
    turn_spec s;
    s.expected = text(expected);
    s.strict = strict;
    s.methods = {"GET", "GET", "GET"};
    return s;
}

TEST(HttpMatch, HeaderBlockIsAnUnorderedMultiset) {
    turn_spec s = http_turn(
        "HTTP/1.1 200 OK\\r\\nServer: {*}\\r\\nX-A: {*}\\r\\nX-A: 1\\r\\nContent-Length: 2\\r\\n\\r\\nok");
    // "X-A: {*}" could take "X-A: 1"; the matcher must still pair it with "X-A: 2".
    auto out = compare_turn(s, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\nX-A: 2\r\nServer: medusa\r\n\r\nok", false);
    EXPECT_TRUE(out.ok) << out.message << out.diff;
    EXPECT_EQ(out.diff, "");

    auto dup = compare_turn(s, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\nServer: m\r\n\r\nok", false);
    EXPECT_FALSE(dup.ok);
    EXPECT_EQ(dup.message, "response 1: header block differs");

    auto extra = compare_turn(s, "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 2\r\nServer: m\r\nConnection: close\r\n\r\nok", false);
    EXPECT_FALSE(extra.ok);
    EXPECT_NE(extra.diff.find("\n+< Connection: close\\r\\n\n"), std::string::npos) << extra.diff;
}

TEST(HttpMatch, ChunkSizesMatterOnlyWhenStrict) {
    std::string_view expected =
        "HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n6\\r\\nhello!\\r\\n0\\r\\n\\r\\n";
    std::string received = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n";
    EXPECT_TRUE(compare_turn(http_turn(expected), received, false).ok);
    auto strict = compare_turn(http_turn(expected, true), received, false);
    EXPECT_FALSE(strict.ok);
    EXPECT_EQ(strict.message, "response 1: body differs");
}

TEST(HttpMatch, StatusLineAndBodyAreExact) {
    turn_spec s = http_turn("HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nabc");
    EXPECT_EQ(compare_turn(s, "HTTP/1.1 200 Ok\r\nContent-Length: 3\r\n\r\nabc", false).message,
              "response 1: status line differs");
    EXPECT_EQ(compare_turn(s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabd", false).message, "response 1: body differs");
    EXPECT_EQ(compare_turn(s, "HTTP/1.1 200 OK\nContent-Length: 3\r\n\r\nabc", false).message,
              "response 1: status line differs");
}

TEST(HttpMatch, SettlesEarlyOnAWrongResponse) {
    turn_spec s = http_turn(
        "HTTP/1.1 200 OK\\r\\nContent-Length: 1\\r\\n\\r\\naHTTP/1.1 200 OK\\r\\nContent-Length: 1\\r\\n\\r\\nb");
    EXPECT_FALSE(turn_settled(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", false));
    EXPECT_TRUE(turn_settled(s, "HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\na", false));
    EXPECT_TRUE(turn_settled(s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", false));
    EXPECT_TRUE(turn_settled(s, "", true));
}

TEST(RawMatch, BytesExactlyGlobsAside) {
    turn_spec s;
    s.proto = protocol_kind::raw;
    s.expected = text("HTTP/1.0 200 OK\\r\\nDate: {*}\\r\\n\\r\\nbody");
    auto ok = compare_turn(s, "HTTP/1.0 200 OK\r\nDate: today\r\n\r\nbody", true);
    EXPECT_TRUE(ok.ok);
    auto bad = compare_turn(s, "HTTP/1.0 200 OK\r\nDate: today\r\n\r\nbodY", true);
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.diff.find("-< body\n+< bodY\n"), std::string::npos) << bad.diff;
    EXPECT_TRUE(turn_settled(s, "HTTP/1.0 2", false) == false);
    EXPECT_TRUE(turn_settled(s, "HTTP/1.0 3", false));
}

}  // namespace
}  // namespace medusa::transcript
