// request_parser: request lines, header blocks, limits, and the same result at every split point.
#include "http/request_parser.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace medusa::http;

namespace {

struct outcome {
    request_parser::status state;
    int code = 0;
    std::string line, command, uri, version;
    bool has_version = false;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string chunk_line;
    size_t used = 0;
    bool operator==(const outcome&) const = default;
};

outcome snapshot(request_parser& p, size_t used) {
    outcome o;
    o.state = p.state();
    o.code = p.error_code();
    o.used = used;
    const parsed_request& r = p.peek();
    if (p.state() == request_parser::status::complete) {
        o.line = r.request_line();
        o.command = r.command();
        o.uri = r.uri();
        o.version = r.version();
        o.has_version = r.has_version();
        for (size_t i = 0; i < r.field_count(); ++i)
            o.fields.emplace_back(r.field(i).name, r.field(i).value);
        o.chunk_line = r.first_chunk_line().value_or("-");
    }
    return o;
}

// Feed `data` in pieces cut at the given points, stopping when the parser finishes.
outcome feed_split(std::string_view data, std::vector<size_t> cuts, parse_limits limits = {}) {
    request_parser p(limits);
    size_t pos = 0, used = 0;
    cuts.push_back(data.size());
    for (size_t cut : cuts) {
        while (pos < cut && !p.finished()) {
            size_t n = p.feed(data.substr(pos, cut - pos));
            used += n;
            pos += n;
            if (n == 0) break;
        }
        if (p.finished()) break;
    }
    return snapshot(p, used);
}

outcome feed_all(std::string_view data, parse_limits limits = {}) {
    return feed_split(data, {}, limits);
}

}  // namespace

TEST(crack_request, three_parts) {
    auto r = crack_request("GET /index.html HTTP/1.1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, "GET");
    EXPECT_EQ(r->uri, "/index.html");
    EXPECT_EQ(r->version, "1.1");
    EXPECT_TRUE(r->has_version);
}

TEST(crack_request, a_uri_of_any_length_ends_at_its_space) {
    // URIs around the 16 bytes read at a time, and the tail read byte by byte.
    for (size_t len : {1u, 11u, 12u, 13u, 15u, 16u, 17u, 23u, 24u, 25u, 26u, 31u, 32u, 33u, 100u, 5000u}) {
        std::string uri = "/" + std::string(len - 1, 'a');
        const std::string line = "GET " + uri + " HTTP/1.0", no_version = "GET " + uri;
        auto r = crack_request(line);  // (views of `line`)
        ASSERT_TRUE(r) << len;
        EXPECT_EQ(r->uri, uri) << len;
        EXPECT_EQ(r->version, "1.0") << len;
        auto bare = crack_request(no_version);
        ASSERT_TRUE(bare) << len;
        EXPECT_EQ(bare->uri, uri) << len;
        EXPECT_FALSE(bare->has_version);
        // A space inside the URI, wherever it falls, makes four parts: not a request line.
        EXPECT_FALSE(crack_request("GET " + uri + " x HTTP/1.0")) << len;
        EXPECT_FALSE(crack_request("GET " + uri + "  HTTP/1.0")) << len;
    }
}

TEST(crack_request, plain_is_where_the_first_query_fragment_param_or_escape_begins) {
    // Each of '?', '#', ';', '%' at every place of URIs of lengths around the 16-byte reads,
    // with and without a version after them (the line then ends at the URI), and a second such
    // byte after the first: plain is the index of the first, or the URI's length without one.
    for (size_t len = 1; len <= 40; ++len) {
        for (char stop : std::string_view("?#;%")) {
            for (size_t at = 0; at <= len; ++at) {
                std::string uri = "/" + std::string(len - 1, 'a');
                if (at > 0 && at < len) uri[at] = stop;
                if (at > 0 && at + 3 < len) uri[at + 3] = '?';
                const size_t want = std::min(uri.find_first_of("?#;%"), uri.size());
                // (A version with those bytes is no version: such a line is refused.)
                EXPECT_FALSE(crack_request("GET " + uri + " HTTP/1.1?#;%")) << uri;
                for (const std::string& line : {"GET " + uri + " HTTP/1.1", "GET " + uri}) {
                    auto r = crack_request(line);
                    ASSERT_TRUE(r) << line;
                    EXPECT_EQ(r->uri, uri) << line;
                    EXPECT_EQ(r->plain, want) << line;
                }
            }
        }
    }
    // And as the parsed request keeps it, whichever way the head was read.
    request_parser whole, split;
    const std::string head = "GET /a/b/c/d/e/f/g;p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    whole.feed(head);
    for (char c : head) split.feed(std::string_view(&c, 1));
    ASSERT_TRUE(whole.finished() && split.finished());
    EXPECT_EQ(whole.take().uri_plain(), 14u);  // the ";"
    EXPECT_EQ(split.take().uri_plain(), 14u);
}

TEST(crack_request, without_version_is_accepted) {
    auto r = crack_request("GET /");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->uri, "/");
    EXPECT_FALSE(r->has_version);
    EXPECT_EQ(r->version, "");
}

TEST(crack_request, odd_versions_are_digits_and_dots) {
    EXPECT_EQ(crack_request("GET / HTTP/1.2")->version, "1.2");
    EXPECT_EQ(crack_request("GET / HTTP/2.0")->version, "2.0");
    EXPECT_FALSE(crack_request("GET / HTTP/1.x"));
    EXPECT_FALSE(crack_request("GET / HTTP/"));
}

TEST(crack_request, malformed_shapes_of_quirks_row_5) {
    for (const char* bad : {"HELLO", "GET  / HTTP/1.0", "GET / HTTP/1.0 extra", "GET / http/1.0",
                            " GET / HTTP/1.0", "GET / HTTP/1.0 ", "GET ", "GET /  HTTP/1.0",
                            "GET / FTP/1.0", ""})
        EXPECT_FALSE(crack_request(bad)) << bad;
}

TEST(split_uri, four_parts_keep_their_delimiters) {
    auto p = split_uri("/a/b;type=a?x=1&y=2#frag");
    EXPECT_EQ(p.path, "/a/b");
    EXPECT_EQ(p.params, ";type=a");
    EXPECT_EQ(p.query, "?x=1&y=2");
    EXPECT_EQ(p.fragment, "#frag");
    auto q = split_uri("/x#f?notquery");
    EXPECT_EQ(q.path, "/x");
    EXPECT_EQ(q.query, "");
    EXPECT_EQ(q.fragment, "#f?notquery");
    auto r = split_uri("/plain");
    EXPECT_EQ(r.path, "/plain");
    EXPECT_TRUE(r.params.empty() && r.query.empty() && r.fragment.empty());
    EXPECT_EQ(split_uri("/p?q;r").query, "?q;r");
}

// The params are in the last segment only: a ';' in an earlier one is part of its name.
TEST(split_uri, params_come_from_the_last_segment) {
    struct {
        const char *uri, *path, *params, *query, *fragment;
    } cases[] = {
        {"/..;/secret", "/..;/secret", "", "", ""},
        {"/a;x/b;y=1;z?q#f", "/a;x/b", ";y=1;z", "?q", "#f"},
        {";p", "", ";p", "", ""},
        {"/a;b/c?x;y", "/a;b/c", "", "?x;y", ""},
        {"?only", "", "", "?only", ""},
        {"", "", "", "", ""},
    };
    for (const auto& c : cases) {
        auto p = split_uri(c.uri);
        EXPECT_EQ(p.path, c.path) << c.uri;
        EXPECT_EQ(p.params, c.params) << c.uri;
        EXPECT_EQ(p.query, c.query) << c.uri;
        EXPECT_EQ(p.fragment, c.fragment) << c.uri;
    }
}

TEST(percent_decode, decodes_once) {
    EXPECT_EQ(percent_decode("/a%2520b.txt"), "/a%20b.txt");
    EXPECT_EQ(percent_decode("/a%20b.txt"), "/a b.txt");
    EXPECT_EQ(percent_decode("%2e%2E/x"), "../x");
    EXPECT_EQ(percent_decode("100%"), "100%");
    EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
    EXPECT_EQ(percent_decode("%41%42"), "AB");
}

TEST(request_parser, simple_request) {
    auto o = feed_all("GET /x HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\nNEXT");
    EXPECT_EQ(o.state, request_parser::status::complete);
    EXPECT_EQ(o.line, "GET /x HTTP/1.1");
    EXPECT_EQ(o.command, "GET");
    EXPECT_EQ(o.version, "1.1");
    ASSERT_EQ(o.fields.size(), 2u);
    EXPECT_EQ(o.fields[0], (std::pair<std::string, std::string>{"Host", "localhost"}));
    EXPECT_EQ(o.used, std::string_view("GET /x HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n").size());
}

TEST(request_parser, bare_lf_line_ends) {
    auto o = feed_all("GET /x HTTP/1.0\nHost: a\n\n");
    EXPECT_EQ(o.state, request_parser::status::complete);
    EXPECT_EQ(o.fields.size(), 1u);
    auto mixed = feed_all("GET /x HTTP/1.0\r\nHost: a\n\r\n");
    EXPECT_EQ(mixed.state, request_parser::status::complete);
}

TEST(request_parser, one_leading_blank_line_is_skipped_two_make_an_empty_request) {
    auto o = feed_all("\r\nGET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(o.state, request_parser::status::complete);
    EXPECT_EQ(o.uri, "/");
    EXPECT_EQ(feed_all("\r\n\r\nGET / HTTP/1.0\r\n\r\n").state, request_parser::status::empty);
    EXPECT_EQ(feed_all("\n\n").state, request_parser::status::empty);
}

TEST(request_parser, folded_header_joined_with_one_space) {
    auto o = feed_all("GET / HTTP/1.1\r\nX-Long: one\r\n   two\r\n\tthree \r\nB: c\r\n\r\n");
    ASSERT_EQ(o.state, request_parser::status::complete);
    ASSERT_EQ(o.fields.size(), 2u);
    EXPECT_EQ(o.fields[0].second, "one two three");
    EXPECT_EQ(o.fields[1].second, "c");
}

TEST(request_parser, fold_right_after_request_line_is_400) {
    auto o = feed_all("GET / HTTP/1.1\r\n continued\r\n\r\n");
    EXPECT_EQ(o.state, request_parser::status::error);
    EXPECT_EQ(o.code, 400);
}

TEST(request_parser, malformed_request_line_is_400) {
    for (const char* bad : {"HELLO\r\n\r\n", "GET  / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0 x\r\n\r\n",
                            "GET / http/1.0\r\n\r\n"}) {
        auto o = feed_all(bad);
        EXPECT_EQ(o.state, request_parser::status::error) << bad;
        EXPECT_EQ(o.code, 400) << bad;
    }
}

TEST(request_parser, header_without_colon_is_400) {
    EXPECT_EQ(feed_all("GET / HTTP/1.1\r\nNoColonHere\r\n\r\n").code, 400);
    EXPECT_EQ(feed_all("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").code, 400);
}

TEST(request_parser, value_whitespace_trimmed_and_empty_values_allowed) {
    auto o = feed_all("GET / HTTP/1.1\r\nA:x\r\nB:   y  \r\nC:\r\n\r\n");
    ASSERT_EQ(o.state, request_parser::status::complete);
    EXPECT_EQ(o.fields[0].second, "x");
    EXPECT_EQ(o.fields[1].second, "y");
    EXPECT_EQ(o.fields[2].second, "");
}

TEST(request_parser, get_header_is_case_insensitive_first_wins) {
    request_parser p;
    p.feed("GET / HTTP/1.1\r\nContent-TYPE: text/plain\r\nX: 1\r\nx: 2\r\n\r\n");
    ASSERT_EQ(p.state(), request_parser::status::complete);
    auto r = p.take();
    EXPECT_EQ(r.get_header("content-type"), "text/plain");
    EXPECT_EQ(r.get_header("CONTENT-TYPE"), "text/plain");
    EXPECT_EQ(r.get_header("x"), "1");
    EXPECT_FALSE(r.get_header("Host"));
    EXPECT_FALSE(r.get_header("Content-Typ"));
}

TEST(request_parser, every_split_point_gives_the_same_result) {
    const std::string inputs[] = {
        "GET /a%20b?q=1 HTTP/1.1\r\nHost: localhost\r\nX-Fold: a\r\n b\r\n\r\nTAIL",
        "\r\nPOST /p HTTP/1.0\nContent-Length: 3\n\nabc",
        "GET / HTTP/1.1\r\n x\r\n\r\n",
        "\r\n\r\n",
        "BAD\r\n\r\n",
        // Heads that arrive whole take the one-pass way (take_whole_head); split, the general one.
        "GET /x HTTP/1.1\r\nHost: a\r\nAccept:  */*  \r\nX-Empty:\r\n\r\nNEXT",
        "POST /p HTTP/1.1\nContent-Length: 3\nHost: h\n\nabc",
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n",
        "POST /c HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /cr HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET /v\r\nHost: a\r\n\r\n",
    };
    for (const auto& in : inputs) {
        outcome whole = feed_all(in);
        EXPECT_TRUE(whole.state >= request_parser::status::complete) << in;
        for (size_t i = 0; i <= in.size(); ++i) {
            EXPECT_EQ(feed_split(in, {i}), whole) << "split at " << i << " of " << in;
            for (size_t j = i; j <= in.size(); j += 3)
                EXPECT_EQ(feed_split(in, {i, j}), whole) << "split at " << i << "," << j;
        }
        // one byte at a time
        std::vector<size_t> cuts;
        for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
        EXPECT_EQ(feed_split(in, cuts), whole) << in;
    }
}

TEST(request_parser, request_line_limit_is_414) {
    parse_limits l;
    l.max_request_line = 100;
    std::string uri(100 - 4 - 9, 'a');  // "GET " + uri + " HTTP/1.1" == 100 bytes
    std::string ok = "GET " + uri + " HTTP/1.1\r\n\r\n";
    EXPECT_EQ(feed_all(ok, l).state, request_parser::status::complete);
    std::string too_long = "GET " + uri + "a HTTP/1.1\r\n\r\n";
    EXPECT_EQ(feed_all(too_long, l).code, 414);
    // Without any line end: refused once past the limit, without buffering the rest.
    request_parser p(l);
    p.feed(std::string(101, 'x'));
    EXPECT_EQ(p.state(), request_parser::status::request_line);
    p.feed("xx");
    EXPECT_EQ(p.error_code(), 414);
}

TEST(request_parser, header_block_limit_is_431) {
    parse_limits l;
    l.max_header_block = 64;
    // 3 lines of 20 bytes + CRLF = 66 > 64
    std::string h = "GET / HTTP/1.1\r\n";
    std::string line = std::string("X: ") + std::string(17, 'v') + "\r\n";
    EXPECT_EQ(feed_all(h + line + line + "\r\n", l).state, request_parser::status::complete);
    EXPECT_EQ(feed_all(h + line + line + line + "\r\n", l).code, 431);
    request_parser p(l);
    p.feed(h);
    p.feed(std::string(80, 'y'));
    EXPECT_EQ(p.error_code(), 431);
}

TEST(request_parser, reset_between_requests_keeps_nothing) {
    request_parser p;
    std::string two = "GET /1 HTTP/1.1\r\nA: 1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    size_t n = p.feed(two);
    auto first = p.take();
    EXPECT_EQ(first.uri(), "/1");
    p.feed(std::string_view(two).substr(n));
    ASSERT_EQ(p.state(), request_parser::status::complete);
    auto second = p.take();
    EXPECT_EQ(second.uri(), "/2");
    EXPECT_EQ(second.field_count(), 0u);
}

// iequals compares a word at a time: every length, a difference of case or of anything else at
// every position, and non-letters that differ by the case bit ('@' and '`', '[' and '{').
TEST(iequals, every_length_and_position) {
    for (size_t n = 0; n <= 40; ++n) {
        std::string a;
        for (size_t i = 0; i < n; ++i) a.push_back(char('a' + i % 26));
        EXPECT_TRUE(iequals(a, a)) << n;
        for (size_t i = 0; i < n; ++i) {
            std::string b = a;
            b[i] = char(b[i] - 32);  // upper case
            EXPECT_TRUE(iequals(a, b)) << n << " case at " << i;
            b[i] = '-';
            EXPECT_FALSE(iequals(a, b)) << n << " '-' at " << i;
            std::string at(n, 'x'), tick(n, 'x');
            at[i] = '@';
            tick[i] = '`';
            EXPECT_FALSE(iequals(at, tick)) << n << " @/` at " << i;
            at[i] = '[';
            tick[i] = '{';
            EXPECT_FALSE(iequals(at, tick)) << n << " [/{ at " << i;
        }
        EXPECT_FALSE(iequals(a, a + "a")) << n;
    }
    EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
    EXPECT_FALSE(iequals("Content-Length", "Content_Length"));
}

// Lines are found sixteen bytes at a time: a bare CR or a NUL is a 400 at every position of
// lines of every length around that step, in the request line and in a header line; a CRLF or
// a bare LF ends the line wherever it falls.
TEST(request_parser, bare_cr_or_nul_anywhere_in_a_line_is_400) {
    for (size_t n = 1; n <= 40; ++n) {
        std::string value(n, 'v');
        std::string ok = "GET / HTTP/1.1\r\nX: " + value + "\r\nY: " + value + "\n\r\n";
        outcome good = feed_all(ok);
        ASSERT_EQ(good.state, request_parser::status::complete) << n;
        ASSERT_EQ(good.fields.size(), 2u);
        EXPECT_EQ(good.fields[0].second, value);
        EXPECT_EQ(good.fields[1].second, value);
        for (char bad : {'\r', '\0'}) {
            for (size_t i = 0; i < n; ++i) {
                std::string v = value;
                v[i] = bad;
                std::string in = "GET / HTTP/1.1\r\nX: " + v + "\r\n\r\n";
                EXPECT_EQ(feed_all(in).code, 400) << n << " at " << i << " " << int(bad);
                std::string uri = "/" + v;
                std::string line = "GET " + uri + " HTTP/1.1\r\n\r\n";
                EXPECT_EQ(feed_all(line).code, 400) << n << " uri at " << i << " " << int(bad);
            }
        }
    }
}

// The name is read as token bytes up to the colon: each way of getting that wrong keeps its
// own reason.
TEST(request_parser, bad_header_names_keep_their_reasons) {
    auto reason = [](std::string line) {
        request_parser p;
        p.feed("GET / HTTP/1.1\r\n" + line + "\r\n\r\n");
        EXPECT_EQ(p.error_code(), 400) << line;
        return p.error_reason();
    };
    EXPECT_EQ(reason("NoColon"), "header line without a name and a colon");
    EXPECT_EQ(reason(": empty name"), "header line without a name and a colon");
    EXPECT_EQ(reason("Transfer-Encoding : chunked"), "whitespace in a header name");
    EXPECT_EQ(reason("X\tY: 1"), "whitespace in a header name");
    EXPECT_EQ(reason("X(Y): 1"), "a header name that is not a token");
    EXPECT_EQ(reason("X\x80Y: 1"), "a header name that is not a token");
}
