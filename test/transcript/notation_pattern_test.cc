// Escapes, globs and the glob matcher.
#include <gtest/gtest.h>

#include "transcript/notation.h"
#include "transcript/pattern.h"

namespace medusa::transcript {
namespace {

pattern expect_text(std::string_view text) {
    pattern p;
    std::string error;
    EXPECT_TRUE(parse_text(text, line_kind::expect, p, error)) << error;
    return p;
}

TEST(Notation, EscapesBecomeBytes) {
    pattern p = expect_text(R"(a\r\n\t\\\x00\xff\x7B\x20)");
    EXPECT_EQ(p.bytes, std::string("a\r\n\t\\\0\xff{ ", 9));
    EXPECT_TRUE(p.globs.empty());
}

TEST(Notation, GlobOnlyInExpectText) {
    pattern e = expect_text("Date: {*}\\r\\n");
    EXPECT_EQ(e.bytes, "Date: \r\n");
    EXPECT_EQ(e.globs, std::vector<std::size_t>{6});

    pattern s;
    std::string error;
    ASSERT_TRUE(parse_text("x{*}y", line_kind::send, s, error));
    EXPECT_EQ(s.bytes, "x{*}y");
    EXPECT_TRUE(s.globs.empty());
}

TEST(Notation, EscapedBraceIsNeverAGlob) {
    pattern p = expect_text(R"(\x7b*})");
    EXPECT_EQ(p.bytes, "{*}");
    EXPECT_TRUE(p.globs.empty());
    EXPECT_EQ(render_text(p, line_kind::expect), R"(\x7b*})");
    // In send text a "{*}" is data and stays as written.
    EXPECT_EQ(render_text(std::string_view("{*}"), line_kind::send), "{*}");
}

TEST(Notation, BadEscapesAreNamed) {
    pattern p;
    std::string error;
    EXPECT_FALSE(parse_text(R"(abc\q)", line_kind::send, p, error));
    EXPECT_EQ(error, R"(bad escape \q)");
    EXPECT_FALSE(parse_text(R"(\x4)", line_kind::send, p, error));
    EXPECT_EQ(error, R"(bad escape \x4 (\x needs two hex digits))");
    EXPECT_FALSE(parse_text(R"(\xzz)", line_kind::expect, p, error));
    EXPECT_FALSE(parse_text("trailing\\", line_kind::send, p, error));
}

TEST(Notation, EdgeSpacesAreEscaped) {
    EXPECT_EQ(render_text(std::string_view(" a b "), line_kind::send), R"(\x20a b\x20)");
    EXPECT_EQ(render_text(std::string_view(" "), line_kind::send), R"(\x20)");
    pattern p = expect_text("{*} x {*}");
    EXPECT_EQ(render_text(p, line_kind::expect), "{*} x {*}");
}

TEST(Notation, RenderThenParseIsIdentityForEveryByte) {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    all += " {*} {x";
    pattern p(all);
    p.globs = {0, 5, 5, all.size()};
    std::string text = render_text(p, line_kind::expect);
    EXPECT_EQ(text.find('\n'), std::string::npos);
    EXPECT_EQ(expect_text(text), p);
}

TEST(Pattern, GlobsMatchRunsWithoutLineEnds) {
    pattern p = expect_text("Date: {*}\\r\\n");
    EXPECT_TRUE(matches(p, "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"));
    EXPECT_TRUE(matches(p, "Date: \r\n"));
    EXPECT_FALSE(matches(p, "Date: a\r\nb\r\n"));
    EXPECT_FALSE(matches(p, "Date: a\rb\r\n"));
    EXPECT_FALSE(matches(p, "Dote: a\r\n"));
    EXPECT_FALSE(matches(p, "Date: a\r\nX"));

    pattern loc = expect_text("Location: http://{*}/sub/\\r\\n");
    EXPECT_TRUE(matches(loc, "Location: http://localhost:8080/sub/\r\n"));
    EXPECT_FALSE(matches(loc, "Location: http://localhost/other/\r\n"));

    pattern many = expect_text("a{*}b{*}b{*}c");
    EXPECT_TRUE(matches(many, "abbc"));
    EXPECT_TRUE(matches(many, "axxbyybzzc"));
    EXPECT_FALSE(matches(many, "abc"));
}

TEST(Pattern, CouldStillMatchStopsAtTheFirstWrongByte) {
    pattern p = expect_text("HTTP/1.1 200 OK\\r\\nServer: {*}\\r\\n\\r\\n");
    EXPECT_TRUE(could_still_match(p, ""));
    EXPECT_TRUE(could_still_match(p, "HTTP/1.1 2"));
    EXPECT_TRUE(could_still_match(p, "HTTP/1.1 200 OK\r\nServer: medu"));
    EXPECT_FALSE(could_still_match(p, "HTTP/1.1 404"));
    EXPECT_FALSE(could_still_match(p, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nextra"));
}

TEST(Pattern, MatchPrefixFindsTheEndOfTheExpectedBytes) {
    pattern p = expect_text("abc\\n");
    EXPECT_EQ(match_prefix(p, "abc\nrest"), 4u);
    EXPECT_EQ(match_prefix(p, "ab"), std::nullopt);
    pattern g = expect_text("Server: {*}");
    EXPECT_EQ(match_prefix(g, "Server: medusa"), std::nullopt);  // the line may go on
    EXPECT_EQ(match_prefix(g, "Server: medusa\r\n"), 14u);
}

TEST(Pattern, SplitLinesKeepsGlobsWithTheirLine) {
    pattern p = expect_text("a\\n{*}b\\nc{*}");
    auto lines = split_lines(p);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], pattern("a\n"));
    EXPECT_EQ(lines[1].bytes, "b\n");
    EXPECT_EQ(lines[1].globs, std::vector<std::size_t>{0});
    EXPECT_EQ(lines[2].globs, std::vector<std::size_t>{1});
    EXPECT_EQ(split_lines(pattern(std::string(250, 'x'))).size(), 3u);
}

}  // namespace
}  // namespace medusa::transcript
