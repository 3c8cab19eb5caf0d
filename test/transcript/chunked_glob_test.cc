// A {*} inside the data of an expected chunked body (a value masked in a dynamic page): the size
// line no longer counts the data, and the body is framed by what follows it instead.
#include <gtest/gtest.h>

#include "transcript/http_framing.h"
#include "transcript/matcher.h"
#include "transcript/notation.h"

namespace medusa::transcript {
namespace {

pattern expected(std::string_view t) {
    pattern p;
    std::string error;
    EXPECT_TRUE(parse_text(t, line_kind::expect, p, error)) << error;
    return p;
}

const std::vector<std::string> two_gets(2, "GET");

TEST(ChunkedGlob, TheDataRunsToTheLastChunk) {
    // Recorded as "Up: 34 secs" (11 bytes, 0xb), then masked.
    pattern in = expected("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                          "b\\r\\nUp: {*} secs\\r\\n0\\r\\n\\r\\n");
    split_result r = split_responses(in, two_gets, 0, true);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.problem, "");
    EXPECT_TRUE(r.responses[0].complete);
    EXPECT_TRUE(matches(r.responses[0].payload, "Up: 1 mins 26 secs"));
    EXPECT_FALSE(matches(r.responses[0].payload, "Up: 1 secs\r\n"));
}

TEST(ChunkedGlob, LaterChunksAndResponsesStillFrame) {
    // The masked chunk's data ends in CRLF of its own; a second chunk and a second response follow.
    pattern in = expected("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                          "10\\r\\nPort: {*}\\r\\n\\r\\n3\\r\\nend\\r\\n0\\r\\n\\r\\n"
                          "HTTP/1.1 404 Not Found\\r\\nContent-Length: 2\\r\\n\\r\\nno");
    split_result r = split_responses(in, two_gets, 0, true);
    ASSERT_EQ(r.responses.size(), 2u);
    EXPECT_EQ(r.problem, "");
    EXPECT_TRUE(matches(r.responses[0].payload, "Port: 40967\r\nend"));
    EXPECT_EQ(r.responses[1].status, 404);
    EXPECT_EQ(r.responses[1].payload.bytes, "no");
}

TEST(ChunkedGlob, AGlobEndingTheDataIsKept) {
    pattern in = expected("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                          "9\\r\\nup: {*}\\r\\n0\\r\\n\\r\\n");
    split_result r = split_responses(in, two_gets, 0, true);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_TRUE(matches(r.responses[0].payload, "up: 12 secs"));
}

TEST(ChunkedGlob, TheReplayComparesTheMaskedPayload) {
    turn_spec s;
    s.expected = expected("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                          "b\\r\\nUp: {*} secs\\r\\n0\\r\\n\\r\\n");
    s.methods = {"GET"};
    std::string sent = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nUp: 1\r\n9\r\n mins 26 \r\n4\r\nsecs\r\n0\r\n\r\n";
    auto ok = compare_turn(s, sent, false);
    EXPECT_TRUE(ok.ok) << ok.message << ok.diff;
    std::string wrong = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "9\r\nDown: 1 s\r\n0\r\n\r\n";
    auto bad = compare_turn(s, wrong, false);
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.message, "response 1: body differs (chunk framing removed)");
}

TEST(ChunkedGlob, NoChunkedEndIsStillAProblem) {
    pattern in = expected("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
                          "b\\r\\nUp: {*} secs\\r\\n");
    split_result r = split_responses(in, two_gets, 0, true);
    EXPECT_NE(r.problem, "");
}

// Each masked chunk tries every later line end as the start of the body's rest; a rest that holds
// masked chunks of its own once made that 2^n tries (60 chunks here: it never finished).
std::string masked_chunks(int n) {
    std::string body;
    for (int i = 0; i < n; ++i) body += "5\\r\\n{*}\\r\\n";
    return "HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n" + body;
}

TEST(ChunkedGlob, ManyMaskedChunksWithoutAnEndAreAProblemNotAHang) {
    split_result r = split_responses(expected(masked_chunks(60)), two_gets, 0, true);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.problem, "response 1: a chunk with a {*} in its data is not followed by the rest of a chunked body");
}

TEST(ChunkedGlob, ManyMaskedChunksThatEndStillFrame) {
    pattern in = expected(masked_chunks(60) + "0\\r\\n\\r\\nHTTP/1.1 204 No Content\\r\\n\\r\\n");
    split_result r = split_responses(in, two_gets, 0, true);
    ASSERT_EQ(r.responses.size(), 2u);
    EXPECT_EQ(r.problem, "");
    EXPECT_TRUE(r.responses[0].complete);
    EXPECT_EQ(r.responses[1].status, 204);
    // The first masked chunk's data runs to the last chunk: the rest is one glob the replay can match.
    EXPECT_TRUE(matches(r.responses[0].payload, "hello"));
}

}  // namespace
}  // namespace medusa::transcript
