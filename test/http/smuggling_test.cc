// Request smuggling: a request whose body boundary two servers could read differently (a front
// end and this one) is refused with 400 and a closed connection, whatever its method, and never
// lets the bytes after it be read as another request. First the parser alone (every split of the
// bytes gives the same 400), then the running server, each shape sent as GET, HEAD and POST
// behind a normal pipelined request and followed by a request that must never be answered.
#include <fmt/format.h>

#include "test/http/http_client.h"
#include "test/http/server_fixture.h"
#include "test/backends.h"

using namespace medusa;
using namespace medusa::http;
using namespace medusa::http::testing;

namespace {

using namespace std::string_view_literals;

struct shape {
    const char* name;
    // The request up to where the smuggled request would start; "{m}" is the method.
    std::string_view bytes;
};

// Each is a 400 from the parser, before any handler runs.
const shape smuggling_shapes[] = {
    {"cl_te", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
    {"te_cl", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              "Content-Length: 5\r\n\r\n0\r\n\r\n"},
    {"two_cl", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"},
    {"cl_list", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5\r\n\r\n"},
    {"cl_negative", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
    {"cl_overflow", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\n"},
    {"cl_19_digits", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000000005\r\n\r\n"},
    {"cl_plus", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n"},
    {"cl_hex", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0x0\r\n\r\n"},
    {"cl_empty", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"},
    {"chunk_size_bad", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "zz\r\nhello\r\n0\r\n\r\n"},
    {"chunk_size_overflow", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "10000000000000001\r\nA\r\n0\r\n\r\n"},
    {"chunk_size_negative", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "-1\r\nA\r\n0\r\n\r\n"},
    {"chunk_size_0x", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "0x5\r\nhello\r\n0\r\n\r\n"},
    {"te_not_final", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                     "0\r\n\r\n"},
    {"te_chunked_twice", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n"
                         "\r\n0\r\n\r\n"},
    {"te_unknown", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
    {"te_empty", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n"},
    {"te_two_lines", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
    {"te_space_before_colon", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
                              "0\r\n\r\n"},
    {"te_name_vtab", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\x0b: chunked\r\n\r\n"
                     "0\r\n\r\n"},
    {"te_obs_fold", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n"
                    "0\r\n\r\n"},
    {"cl_obs_fold", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 37\r\n\r\n"},
    {"fold_first_header", "{m} /t HTTP/1.1\r\n Content-Length: 0\r\nHost: x\r\n\r\n"},
    {"te_http10", "{m} /t HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Connection: keep-alive\r\n\r\n0\r\n\r\n"},
    {"bare_cr_in_value", "{m} /t HTTP/1.1\r\nHost: x\r\nX-A: a\rTransfer-Encoding: chunked\r\n\r\n"
                         "0\r\n\r\n"},
    {"bare_cr_line_end", "{m} /t HTTP/1.1\r\nHost: x\rContent-Length: 37\r\n\r\n"},
    {"nul_in_value", "{m} /t HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"sv},
};

// Well-framed requests with the same headers: these must be served and keep the connection.
const shape well_framed[] = {
    {"content_length", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
    {"same_cl_twice", "{m} /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
                      "hello"},
    {"chunked", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n"},
    {"chunked_mixed_case", "{m} /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                           "0\r\n\r\n"},
    {"folded_other_header", "{m} /t HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n"},
};

const char* const methods[] = {"GET", "HEAD", "POST"};

std::string render(const shape& s, std::string_view method) {
    std::string_view text = s.bytes;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 3, "{m}") == 0) {
            out += method;
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Feeds `in` cut at every `step`-th byte; the final state, code and, when complete, the request
// line and first chunk line.
std::string parse(std::string_view in, size_t step) {
    request_parser p;
    for (size_t i = 0; i < in.size() && !p.finished(); i += step) p.feed(in.substr(i, step));
    if (p.state() == request_parser::status::error)
        return fmt::format("error {} ({})", p.error_code(), p.error_reason());
    if (p.state() != request_parser::status::complete) return fmt::format("state {}", int(p.state()));
    auto r = p.take();
    return fmt::format("complete [{}] chunk line [{}]", r.request_line(),
                       r.first_chunk_line().value_or("(none)"));
}

}  // namespace

TEST(smuggling_parser, every_shape_is_400_for_every_method_and_split) {
    for (const auto& s : smuggling_shapes) {
        for (const char* m : methods) {
            std::string in = render(s, m);
            SCOPED_TRACE(fmt::format("{} {}", m, s.name));
            std::string whole = parse(in, in.size());
            EXPECT_EQ(whole.rfind("error 400 (", 0), 0u) << whole;
            EXPECT_EQ(parse(in, 1), whole);
            EXPECT_EQ(parse(in, 7), whole);
        }
    }
}

TEST(smuggling_parser, reasons_name_the_problem) {
    EXPECT_EQ(parse(render(smuggling_shapes[0], "GET"), 1000),
              "error 400 (both Content-Length and Transfer-Encoding)");
    EXPECT_EQ(parse(render(smuggling_shapes[2], "GET"), 1000),
              "error 400 (two different Content-Lengths (0 and 5))");
    EXPECT_EQ(parse(render(smuggling_shapes[4], "GET"), 1000),
              "error 400 (invalid Content-Length '-1')");
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\n", 1000),
              "error 400 (folded Content-Length line)");
    EXPECT_EQ(parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 1000),
              "error 400 (Transfer-Encoding in a request without HTTP/1.1)");
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1000),
              "error 400 (bad chunked body: bad chunk size line 'zz')");
}

TEST(smuggling_parser, well_framed_requests_complete) {
    for (const auto& s : well_framed) {
        std::string in = render(s, "POST");
        SCOPED_TRACE(s.name);
        std::string whole = parse(in, in.size());
        EXPECT_EQ(whole.rfind("complete [POST /t HTTP/1.1]", 0), 0u) << whole;
        EXPECT_EQ(parse(in, 1), whole);
    }
    // A chunked head is complete only after its first chunk-size line, which it hands on.
    EXPECT_EQ(parse(render(well_framed[2], "GET"), 1),
              "complete [GET /t HTTP/1.1] chunk line [5;ext=1\r]");
    request_parser p;
    p.feed("POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_EQ(p.state(), request_parser::status::first_chunk);
    EXPECT_EQ(p.feed("1a\nrest"), 3u);  // stops right after the size line
    EXPECT_EQ(p.take().first_chunk_line(), "1a");
    // "gzip, chunked" frames as chunked (the channel decides about gzip).
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n", 1),
              "complete [POST / HTTP/1.1] chunk line [0\r]");
    // A client waiting for "100 Continue" has sent no chunk yet: the head is complete without.
    EXPECT_EQ(parse("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
                    1),
              "complete [PUT / HTTP/1.1] chunk line [(none)]");
    // Without Transfer-Encoding nothing after the blank line is read.
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1),
              "complete [GET / HTTP/1.1] chunk line [(none)]");
}

TEST(smuggling_parser, chunk_line_over_its_limit_is_400) {
    std::string in = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
                     std::string(request_parser::max_chunk_line, 'x');
    request_parser p;
    p.feed(in);
    EXPECT_EQ(p.state(), request_parser::status::error);
    EXPECT_EQ(p.error_code(), 400);
}

TEST(smuggling_parser, a_line_over_the_limit_is_431_even_with_a_bare_cr) {
    // The limit is checked first: split reads see the limit pass before the line (and its CR)
    // is complete, and the answer must not depend on where the reads split.
    parse_limits l;
    l.max_header_block = 64;
    std::string in = "GET / HTTP/1.1\r\nX: a\rb" + std::string(100, 'c') + "\r\n\r\n";
    for (size_t step : {in.size(), size_t(1), size_t(9)}) {
        request_parser p(l);
        for (size_t i = 0; i < in.size() && !p.finished(); i += step) p.feed(in.substr(i, step));
        EXPECT_EQ(p.error_code(), 431) << step;
    }
}

// The running server (server_fixture.h). The file handler serves /t (written by each test) and
// /smuggled, which must never be answered.
class smuggling_server : public server_test {};

TEST_P(smuggling_server, each_shape_is_400_and_close_after_earlier_replies) {
    write_file(root_ + "/t", "t file\n");
    write_file(root_ + "/smuggled", "SMUGGLED\n");
    for (const auto& s : smuggling_shapes) {
        for (const char* m : methods) {
            SCOPED_TRACE(fmt::format("{} {}", m, s.name));
            client c(port_);
            c.send(get("/index.html") + render(s, m) + get("/smuggled"));
            auto first = c.read_reply();
            ASSERT_TRUE(first);
            EXPECT_EQ(first->code(), 200);
            EXPECT_EQ(first->body, index_html);
            auto err = c.read_reply(std::string_view(m) == "HEAD");
            ASSERT_TRUE(err);
            EXPECT_EQ(err->code(), 400);
            EXPECT_EQ(err->header("Connection"), "close");
            EXPECT_TRUE(c.at_eof());  // and nothing after: /smuggled never answered
        }
    }
    // A log line for each: the access log has every 400 (and 3 x shapes + the 200s).
    size_t n = std::size(smuggling_shapes) * std::size(methods);
    auto lines = log_lines(2 * n);
    size_t bad = 0;
    for (const auto& l : lines) bad += l.find("\" 400 ") != std::string::npos;
    EXPECT_EQ(bad, n);
    // The server still serves.
    client c(port_);
    c.send(get("/index.html"));
    EXPECT_EQ(c.read_reply()->body, index_html);
}

TEST_P(smuggling_server, well_framed_bodies_are_read_and_the_connection_kept) {
    write_file(root_ + "/t", "t file\n");
    for (const auto& s : well_framed) {
        // GET and HEAD: the file handler answers; the body is read and dropped. POST gets the
        // file handler's 400 for a method it does not serve, on a connection kept open.
        for (const char* m : methods) {
            SCOPED_TRACE(fmt::format("{} {}", m, s.name));
            bool head = std::string_view(m) == "HEAD";
            client c(port_);
            c.send(render(s, m) + get("/index.html"));
            auto r = c.read_reply(head);
            ASSERT_TRUE(r);
            EXPECT_EQ(r->code(), std::string_view(m) == "POST" ? 400 : 200);
            if (std::string_view(m) == "GET") {
                EXPECT_EQ(r->body, "t file\n");
            }
            EXPECT_FALSE(r->header("Connection"));
            auto next = c.read_reply();
            ASSERT_TRUE(next);
            EXPECT_EQ(next->body, index_html);
        }
    }
}

TEST_P(smuggling_server, chunked_body_split_after_its_first_size_line_is_read_whole) {
    write_file(root_ + "/t", "t file\n");
    client c(port_);
    // The head and the first size line arrive first; the chunk's data and the rest later.
    c.send("GET /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "t file\n");
    c.send("he");
    c.send("llo\r\n0\r\n\r\n" + get("/index.html"));
    auto next = c.read_reply();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, index_html);
    // A PUT's collector gets exactly the body, first chunk included.
    c.send("PUT /upload/c.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    auto put = c.read_reply();
    ASSERT_TRUE(put);
    EXPECT_EQ(put->code(), 201);
    EXPECT_EQ(read_file(root_ + "/upload/c.txt"), "abcde");
}

TEST_P(smuggling_server, chunk_error_after_the_reply_closes_without_answering_more) {
    // The first size line is good, so the file handler answers; the second is bad. The reply is
    // gone already, so no 400 can follow it: the connection closes, /smuggled unanswered.
    write_file(root_ + "/t", "t file\n");
    write_file(root_ + "/smuggled", "SMUGGLED\n");
    client c(port_);
    c.send("GET /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "1\r\na\r\nzz\r\n" + get("/smuggled"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 200);
    EXPECT_EQ(r->body, "t file\n");
    EXPECT_TRUE(c.at_eof());
}

INSTANTIATE_TEST_SUITE_P(backends, smuggling_server,
                         ::testing::ValuesIn(medusa_test::every_backend()), medusa_test::backend_name);
