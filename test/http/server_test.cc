// End to end: an http_server with the default handler over a temporary docroot, on each loop
// backend, spoken to by a blocking client over loopback.
#include <netinet/tcp.h>

#include <fmt/format.h>

#include "http/http_channel.h"
#include "http/posix_regex.h"

#include "test/http/http_client.h"
#include "test/http/server_fixture.h"
#include "test/backends.h"

using namespace medusa;
using namespace medusa::http;
using namespace medusa::http::testing;

TEST_P(server_test, get_serves_the_file) {
    client c(port_);
    c.send(get("/index.html"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, index_html);
    EXPECT_EQ(r->header("Content-Length"), "115");
    EXPECT_EQ(r->header("Content-Type"), "text/html");
    EXPECT_EQ(r->header("Last-Modified"), "Sun, 09 Sep 2001 01:46:40 GMT");
    EXPECT_EQ(r->header("Server"), "Medusa/1.12");
    EXPECT_TRUE(r->header("Date"));
    EXPECT_FALSE(r->header("Connection"));
    EXPECT_TRUE(c.quiet_for(50));  // HTTP/1.1: the connection stays open
}

TEST_P(server_test, root_serves_index_and_http10_closes_with_connection_close) {
    client c(port_);
    c.send("GET / HTTP/1.0\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(r->body, index_html);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, head_has_headers_and_no_body) {
    client c(port_);
    c.send("HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n" + get("/nope"));
    auto r = c.read_reply(true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 200);
    EXPECT_EQ(r->header("Content-Length"), "23");
    EXPECT_EQ(r->header("Content-Type"), "text/css");
    // The next reply follows the head at once: no body was sent.
    auto n = c.read_reply();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->code(), 404);
}

TEST_P(server_test, head_of_an_error_has_no_body) {
    client c(port_);
    c.send("HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n" + get("/style.css"));
    auto r = c.read_reply(true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 404);
    EXPECT_EQ(r->header("Content-Length"), "134");
    auto n = c.read_reply();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->code(), 200);
    EXPECT_EQ(n->body, "body { color: black; }\n");
}

TEST_P(server_test, not_found_is_medusas_error_page) {
    client c(port_);
    c.send(get("/nope"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(r->body,
              "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n"
              "<h1>Error response</h1>\r\n<p>Error code 404.\r\n<p>Message: Not Found.\r\n"
              "</body>\r\n");
    EXPECT_EQ(r->header("Content-Length"), "134");
    EXPECT_EQ(r->header("Content-Type"), "text/html");
}

TEST_P(server_test, directory_without_slash_redirects_with_host_or_port) {
    client c(port_);
    c.send("GET /sub HTTP/1.1\r\nHost: example.org:8080\r\n\r\nGET /sub HTTP/1.1\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 301 Moved Permanently");
    EXPECT_EQ(r->header("Location"), "http://example.org:8080/sub/");
    EXPECT_EQ(r->header("Content-Length"), "142");
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->header("Location"), fmt::format("http://127.0.0.1:{}/sub/", port_));
    c.send(get("/sub/"));
    auto r3 = c.read_reply();
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->body, "<html><body><h1>sub/index.html</h1></body></html>\n");
    c.send(get("/nodefault/"));
    EXPECT_EQ(c.read_reply()->code(), 404);
}

TEST_P(server_test, if_modified_since_gives_304_without_body_and_keeps_the_connection) {
    client c(port_);
    c.send(get("/index.html", "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT\r\n"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_FALSE(r->header("Transfer-Encoding"));
    EXPECT_FALSE(r->header("Content-Length"));
    // medusa's "; length=" rule: a different length means modified.
    c.send(get("/index.html", "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT; length=1\r\n"));
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->code(), 200);
    c.send(get("/index.html", "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT; length=115\r\n"));
    EXPECT_EQ(c.read_reply()->code(), 304);
    // An older date: modified since.
    c.send(get("/index.html", "If-Modified-Since: Sat, 08 Sep 2001 01:46:40 GMT\r\n"));
    EXPECT_EQ(c.read_reply()->code(), 200);
    // An asctime date parses too (a QUIRKS row 10 fix).
    c.send(get("/index.html", "If-Modified-Since: Sun Sep  9 01:46:40 2001\r\n"));
    EXPECT_EQ(c.read_reply()->code(), 304);
    EXPECT_EQ(files_->cache_counter.as_long(), 3u);
    // HTTP/1.0 keep-alive: a 304 keeps the connection as a 200 would.
    c.send("GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n"
           "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT\r\n\r\n");
    auto r3 = c.read_reply();
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->status_line, "HTTP/1.0 304 Not Modified");
    EXPECT_EQ(r3->header("Connection"), "Keep-Alive");
    EXPECT_TRUE(c.quiet_for(50));
}

TEST_P(server_test, three_pipelined_requests_answered_in_order) {
    client c(port_);
    c.send(get("/index.html") + "HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n" + get("/nope"));
    auto a = c.read_reply();
    auto b = c.read_reply(true);
    auto d = c.read_reply();
    ASSERT_TRUE(a && b && d);
    EXPECT_EQ(a->body, index_html);
    EXPECT_EQ(b->header("Content-Type"), "text/css");
    EXPECT_EQ(d->code(), 404);
}

TEST_P(server_test, http10_in_a_pipeline_closes_after_its_reply) {
    client c(port_);
    c.send(get("/style.css") + "GET /index.html HTTP/1.0\r\n\r\n" + get("/style.css"));
    EXPECT_EQ(c.read_reply()->code(), 200);
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, http10_keep_alive) {
    client c(port_);
    c.send("GET /index.html HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(r->header("Connection"), "Keep-Alive");
    c.send("GET /sub/index.html HTTP/1.0\r\n\r\n");
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->header("Connection"), "close");
    EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, connection_token_list_and_http12) {
    client c(port_);
    c.send("GET /index.html HTTP/1.0\r\nConnection: Upgrade, KEEP-ALIVE\r\n\r\n");
    EXPECT_EQ(c.read_reply()->header("Connection"), "Keep-Alive");
    c.send("GET /index.html HTTP/1.2\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    c.send("GET /index.html HTTP/1.1\r\nConnection: foo, close\r\n\r\n");
    EXPECT_EQ(c.read_reply()->header("Connection"), "close");
    EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, request_without_version_is_answered_as_http10_then_closed) {
    client c(port_);
    c.send("GET /index.html\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(r->body, index_html);
    EXPECT_TRUE(c.at_eof());
}

TEST_P(server_test, post_to_default_handler_is_400_and_its_body_is_skipped) {
    client c(port_);
    c.send("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\na=1&b=2" +
           get("/index.html"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 400);
    EXPECT_EQ(r->header("Content-Length"), "136");
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->code(), 200);
    EXPECT_EQ(r2->body, index_html);
    // A chunked body is skipped the same way.
    c.send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
           get("/style.css"));
    EXPECT_EQ(c.read_reply()->code(), 400);
    EXPECT_EQ(c.read_reply()->code(), 200);
}

TEST_P(server_test, an_unwanted_body_too_large_to_skip_closes_after_the_reply) {
    client c(port_);
    c.send("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'x'));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 400);
    EXPECT_EQ(r->header("Connection"), "close");
}

TEST_P(server_test, handler_exception_is_500_and_the_server_keeps_serving) {
    client c(port_);
    c.send(get("/boom") + get("/index.html"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 500);
    EXPECT_EQ(r->header("Content-Length"), "146");
    EXPECT_EQ(c.read_reply()->code(), 200);
    EXPECT_EQ(server_->exceptions.as_long(), 1u);
    client c2(port_);
    c2.send(get("/index.html"));
    EXPECT_EQ(c2.read_reply()->code(), 200);
}

TEST_P(server_test, handler_exception_after_a_partial_reply_sends_only_the_500_page) {
    client c(port_);
    c.send(get("/half-boom") + get("/index.html"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 500);
    EXPECT_EQ(r->body, http_request::error_page(500));
    EXPECT_EQ(r->header("Content-Length"), "146");
    EXPECT_EQ(r->header("Content-Type"), "text/html");
    // The pipelined request behind it is answered intact.
    auto n = c.read_reply();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->code(), 200);
    EXPECT_EQ(n->body, index_html);
}

TEST_P(server_test, put_over_max_body_is_413_and_leaves_the_file_alone) {
    write_file(root_ + "/upload/keep.txt", "precious\n");
    client c(port_);
    c.send("PUT /upload/keep.txt HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" +
           std::string(5000, 'x'));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 413);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(c.at_eof());
    EXPECT_EQ(read_file(root_ + "/upload/keep.txt"), "precious\n");
}

TEST_P(server_test, traversal_never_leaves_the_root) {
    const char* attempts[] = {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
                              "/sub/../../secret.txt", "/..%2fsecret.txt",
                              "/sub/%2e%2e/%2e%2e/secret.txt", "//../../secret.txt",
                              "/%252e%252e/secret.txt", "/sub/..%5c..%5csecret.txt"};
    for (const char* path : attempts) {
        client c(port_);
        c.send(get(path));
        auto r = c.read_reply();
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->code(), 404) << path;
        EXPECT_EQ(r->body.find("TOP SECRET"), std::string::npos) << path;
    }
    // ".." is clamped at the root, as medusa: this is /index.html.
    client c(port_);
    c.send(get("/../index.html"));
    EXPECT_EQ(c.read_reply()->body, index_html);
}

TEST_P(server_test, percent_decoding_happens_once) {
    client c(port_);
    c.send(get("/a%20b.txt") + get("/a%2520b.txt") + get("/index.html?x=1;y#frag") +
           get("/index.html;params"));
    EXPECT_EQ(c.read_reply()->body, "space in the name\n");
    EXPECT_EQ(c.read_reply()->code(), 404);
    EXPECT_EQ(c.read_reply()->body, index_html);
    EXPECT_EQ(c.read_reply()->body, index_html);
}

TEST_P(server_test, large_file_is_sent_whole) {
    client c(port_);
    c.send(get("/big.bin") + get("/style.css"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Content-Length"), std::to_string(big_.size()));
    EXPECT_TRUE(r->body == big_);
    EXPECT_EQ(c.read_reply()->code(), 200);
}

TEST_P(server_test, reply_without_length_is_chunked_on_11_and_closes_on_10) {
    client c(port_);
    c.send(get("/stream"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(r->body, "part one\npart two\n");
    c.send("GET /stream HTTP/1.0\r\n\r\n");
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_FALSE(r2->header("Transfer-Encoding"));
    EXPECT_EQ(r2->header("Connection"), "close");
    EXPECT_EQ(r2->body, "part one\npart two\n");
}

TEST_P(server_test, deferred_reply_keeps_pipelined_order) {
    client c(port_);
    c.send(get("/slow") + get("/index.html") + get("/slow"));
    auto a = c.read_reply();
    auto b = c.read_reply();
    auto d = c.read_reply();
    ASSERT_TRUE(a && b && d);
    EXPECT_EQ(a->body, "slow");
    EXPECT_EQ(b->body, index_html);
    EXPECT_EQ(d->body, "slow");
}

TEST_P(server_test, bare_lf_requests_and_one_leading_crlf) {
    client c(port_);
    c.send("GET /style.css HTTP/1.1\nHost: x\n\n\r\nGET /index.html HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.read_reply()->code(), 200);
    EXPECT_EQ(c.read_reply()->body, index_html);
}

TEST_P(server_test, split_request_byte_by_byte) {
    client c(port_);
    std::string req = get("/index.html");
    for (char ch : req) {
        c.send(std::string(1, ch));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_EQ(c.read_reply()->body, index_html);
}

TEST_P(server_test, leading_empty_request_closes_without_reply) {
    client c(port_);
    c.send("\r\n\r\n");
    EXPECT_EQ(c.read_all(), "");
}

TEST_P(server_test, malformed_request_line_is_400_then_close) {
    for (const char* bad : {"HELLO\r\n\r\n", "GET  / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0 x\r\n\r\n",
                            "GET / http/1.0\r\n\r\n"}) {
        client c(port_);
        c.send(bad);
        auto r = c.read_reply();
        ASSERT_TRUE(r) << bad;
        EXPECT_EQ(r->status_line, "HTTP/1.0 400 Bad Request") << bad;
        EXPECT_EQ(r->header("Connection"), "close");
        EXPECT_EQ(r->header("Content-Length"), "136");
        EXPECT_TRUE(c.at_eof()) << bad;
    }
}

TEST_P(server_test, limits_answer_after_earlier_pipelined_replies) {
    struct limit_case {
        std::string request;
        int code;
    };
    std::string huge_headers = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 2000; ++i) huge_headers += fmt::format("X-Header-{}: {}\r\n", i, std::string(30, 'v'));
    huge_headers += "\r\n";
    const limit_case cases[] = {
        {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414},
        {huge_headers, 431},
        {"PUT /upload/big.txt HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'),
         413},
        {"GET / HTTP/1.1\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"PUT /upload/c.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
    };
    for (const auto& lc : cases) {
        client c(port_);
        c.send(get("/index.html") + lc.request);
        auto first = c.read_reply();
        ASSERT_TRUE(first) << lc.code;
        EXPECT_EQ(first->code(), 200) << lc.code;
        EXPECT_EQ(first->body, index_html);
        auto err = c.read_reply();
        ASSERT_TRUE(err) << lc.code;
        EXPECT_EQ(err->code(), lc.code);
        EXPECT_EQ(err->header("Connection"), "close") << lc.code;
        EXPECT_TRUE(err->body.find(fmt::format("Error code {}.", lc.code)) != std::string::npos);
        EXPECT_TRUE(c.at_eof()) << lc.code;
    }
    // ...and the server still serves others.
    client c(port_);
    c.send(get("/index.html"));
    EXPECT_EQ(c.read_reply()->code(), 200);
}

TEST_P(server_test, put_creates_then_replaces) {
    client c(port_);
    c.send("PUT /upload/new.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 201 Created");
    EXPECT_EQ(read_file(root_ + "/upload/new.txt"), "hello");
    c.send("PUT /upload/new.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nbye\r\n2\r\n!!\r\n0\r\n\r\n" + get("/upload/new.txt"));
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->status_line, "HTTP/1.1 204 No Content");
    auto r3 = c.read_reply();
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->body, "bye!!");
    c.send("PUT /upload/x.txt HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.read_reply()->code(), 411);
    c.send("PUT /upload/ HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(c.read_reply()->code(), 405);
}

TEST_P(server_test, expect_100_continue_for_a_collected_body) {
    client c(port_);
    c.send("PUT /upload/e.txt HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    auto cont = c.read_reply(true);
    ASSERT_TRUE(cont);
    EXPECT_EQ(cont->raw_head, "HTTP/1.1 100 Continue\r\n\r\n");
    c.send("data");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 201);
    EXPECT_EQ(read_file(root_ + "/upload/e.txt"), "data");
    // Nobody wants this body: no 100, a final reply, then close.
    c.send("POST /index.html HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    auto r2 = c.read_reply();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->code(), 400);
    EXPECT_EQ(r2->header("Connection"), "close");
}

TEST_P(server_test, auth_redirect_virtual_and_status_handlers) {
    client c(port_);
    c.send(get("/private/x"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 401);
    EXPECT_EQ(r->header("WWW-Authenticate"), "Basic realm=\"test realm\"");
    c.send(get("/private/x", "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n"));  // alice:wonderland
    EXPECT_EQ(c.read_reply()->body, "secret stuff\n");
    c.send(get("/private/x", "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"));  // alice:wrong
    EXPECT_EQ(c.read_reply()->code(), 401);
    c.send(get("/private/x", "Authorization: Basic !!!\r\n"));
    EXPECT_EQ(c.read_reply()->code(), 400);
    c.send(get("/old/page.html"));
    auto red = c.read_reply();
    ASSERT_TRUE(red);
    EXPECT_EQ(red->status_line, "HTTP/1.1 302 Moved Temporarily");
    EXPECT_EQ(red->header("Location"), "/new/page.html");
    c.send("GET /index.html HTTP/1.1\r\nHost: B.example:8080\r\n\r\n");
    EXPECT_EQ(c.read_reply()->body, "site b\n");
    c.send(get("/status"));
    auto st = c.read_reply();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->header("Transfer-Encoding"), "chunked");
    EXPECT_NE(st->body.find("Medusa Status Reports"), std::string::npos);
    EXPECT_NE(st->body.find("<b>Requests:</b>"), std::string::npos);
    c.send(get("/status/channel_list"));
    auto cl = c.read_reply();
    ASSERT_TRUE(cl);
    EXPECT_NE(cl->body.find("channel#:"), std::string::npos);
    c.send(get("/status/nothing"));
    EXPECT_EQ(c.read_reply()->code(), 404);
}

TEST_P(server_test, log_line_in_medusas_format) {
    {
        client c(port_);
        c.send("GET /index.html HTTP/1.0\r\n\r\n");
        auto r = c.read_reply();
        ASSERT_TRUE(r);
    }
    auto lines = log_lines(1);
    ASSERT_GE(lines.size(), 1u);
    posix_regex shape(
        "127\\.0\\.0\\.1:[0-9]+ - - \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} "
        "[+-][0-9]{4}\\] \"GET /index.html HTTP/1.0\" 200 ([0-9]+)\n");
    auto m = shape.full_match(lines[0]);
    ASSERT_TRUE(m) << lines[0];
    // The byte count is the whole reply, header block included (medusa's hooked_producer).
    EXPECT_GT(std::stoul((*m)[0]), 115u);
}

TEST_P(server_test, slow_request_head_is_closed_by_maintenance_idle_one_is_not) {
    client slow(port_);
    slow.send("GET /index.html HTTP/1.1\r\nHost");
    client idle(port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // timeouts count seconds
    client admin(port_);
    admin.send(get("/kill-zombies"));
    EXPECT_EQ(admin.read_reply()->body, "ok");
    EXPECT_TRUE(slow.at_eof());
    EXPECT_TRUE(idle.quiet_for(50));  // no request under way: only the 30-minute zombie timeout
}

TEST(http_server_listeners, ipv6_and_unix_domain) {
    socket_map map;
    auto log = std::make_shared<capture_logger>();
    std::string dir =
        (std::filesystem::temp_directory_path() / "medusa-http-unix-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(dir.data()));
    write_file(dir + "/index.html", index_html);
    auto files = std::make_shared<default_handler>(std::make_shared<os_filesystem>(dir));
    std::shared_ptr<http_server> v6;
    try {
        v6 = make<http_server>("::1", 0, log, map);
        v6->install_handler(files);
    } catch (const std::exception&) {
        // No IPv6 on this machine's loopback: the Unix-domain half still runs.
    }
    std::string path = dir + "/sock";
    auto ux = make<http_server>(address::unix_path(path), log, map);
    ux->install_handler(files);
    std::atomic<bool> stop{false};
    map.call_every(std::chrono::milliseconds(10), [&] {
        if (stop) map.stop();
    });
    std::thread t([&] { loop(std::chrono::duration<double>(1.0), std::nullopt, map); });

    auto exchange = [](int fd) {
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string req = "GET / HTTP/1.0\r\n\r\n";
        EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
        std::string got;
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0) got.append(buf, size_t(n));
        ::close(fd);
        return got;
    };
    if (v6) {
        int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
        address a = address::inet("::1", v6->port());
        ASSERT_EQ(medusa_test::connect_through_eintr(fd, a.sa(), a.len()), 0);
        std::string got = exchange(fd);
        EXPECT_TRUE(got.starts_with("HTTP/1.0 200 OK\r\n")) << got;
        EXPECT_TRUE(got.ends_with(index_html));
    }
    {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        address a = address::unix_path(path);
        ASSERT_EQ(medusa_test::connect_through_eintr(fd, a.sa(), a.len()), 0);
        std::string got = exchange(fd);
        EXPECT_TRUE(got.starts_with("HTTP/1.0 200 OK\r\n")) << got;
        EXPECT_TRUE(got.ends_with(index_html));
    }
    stop = true;
    t.join();
    close_all(map);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

// A server answering "hello" on a map of its own, and clients of it: the accept tests below.
struct hello_server {
    socket_map map;
    std::shared_ptr<http_server> server;
    explicit hello_server(backend b) : map(b) {
        server = make<http_server>("127.0.0.1", 0, std::make_shared<capture_logger>(), map);
        server->install_handler(std::make_shared<text_handler>("/", "hello"));
    }
    ~hello_server() { close_all(map); }
    // A client connected to the server that has sent `req` (-1 if that failed).
    int client(const std::string& req) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        address a = address::inet("127.0.0.1", server->port());
        EXPECT_EQ(medusa_test::connect_through_eintr(fd, a.sa(), a.len()), 0);
        EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
        return fd;
    }
    // Up to `passes` loop passes of at most `wait` each, reading what the client receives, until
    // its end of file (eof set) or a reply ending in `until`.
    std::string read(int fd, int passes, std::chrono::milliseconds wait, bool& eof,
                     std::string_view until = {}) {
        std::string got;
        char buf[4096];
        eof = false;
        for (int pass = 0; pass < passes && !eof && (until.empty() || !got.ends_with(until));
             ++pass) {
            map.poll_once(wait);
            ssize_t n;
            while ((n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, size_t(n));
            eof = n == 0;
        }
        return got;
    }
    std::shared_ptr<http_channel> channel() {
        std::shared_ptr<http_channel> ch;
        for (auto& d : map.channels())
            if (auto c = std::dynamic_pointer_cast<http_channel>(d)) ch = c;
        return ch;
    }
    // The client closes; passes run until the server's channel has gone (or 5 s).
    void client_closes(int fd) {
        ::close(fd);
        for (int i = 0; i < 100 && map.size() > 1; ++i) map.poll_once(std::chrono::milliseconds(50));
    }
};

TEST(http_server_accept, a_request_sent_with_its_connection_is_answered_in_the_accepting_pass) {
    // The request usually arrives with the handshake: it is read and answered in the pass that
    // accepts the connection (socket_map::read_now), and the HTTP/1.0 reply's end of file is
    // behind it. Accepted sockets have TCP_NODELAY, from the listener. (io_uring reads a stream
    // socket through its own submissions: the reply takes a pass more there.)
    for (backend b : medusa_test::every_backend()) {
        SCOPED_TRACE(std::string(to_string(b)));
        hello_server h(b);
        int fd = h.client("GET / HTTP/1.0\r\n\r\n");
        bool eof = false;
        std::string got = h.read(fd, b == backend::uring ? 10 : 1, std::chrono::seconds(5), eof);
        EXPECT_TRUE(eof) << "the end of file is behind the reply";
        EXPECT_TRUE(got.starts_with("HTTP/1.0 200 OK\r\n")) << got;
        EXPECT_TRUE(got.ends_with("\r\n\r\nhello")) << got;

        // An HTTP/1.0 request without keep-alive says the client sends nothing after it, and
        // nothing else came: the channel has closed with its reply, without lingering (on
        // io_uring too, where the ring's read in flight is cancelled).
        EXPECT_FALSE(h.channel()) << "closed at once: the client ends the conversation";
        h.client_closes(fd);
        EXPECT_EQ(h.map.size(), 1u) << "no channel left once the client has closed";

        // A connection that stays open: its socket has TCP_NODELAY, from the listener.
        fd = h.client("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        got = h.read(fd, 20, std::chrono::milliseconds(200), eof, "hello");
        EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
        std::shared_ptr<http_channel> ch = h.channel();
        ASSERT_TRUE(ch) << "kept alive";
        int nodelay = 0;
        socklen_t len = sizeof nodelay;
        ASSERT_EQ(::getsockopt(ch->fileno(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
        EXPECT_EQ(nodelay, 1);
        ch.reset();
        h.client_closes(fd);
    }
}

TEST(http_server_accept, a_request_with_connection_close_is_answered_and_closed_at_once) {
    // "Connection: close" from an HTTP/1.1 client, its request whole and nothing else sent: the
    // reply, its end of file, and the channel gone without lingering.
    for (backend b : medusa_test::every_backend()) {
        SCOPED_TRACE(std::string(to_string(b)));
        hello_server h(b);
        int fd = h.client("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        bool eof = false;
        std::string got = h.read(fd, 20, std::chrono::milliseconds(200), eof);
        EXPECT_TRUE(eof) << "the end of file is behind the reply, not a reset";
        EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
        EXPECT_TRUE(got.ends_with("hello")) << got;
        EXPECT_EQ(h.map.size(), 1u) << "closed at once";
        h.client_closes(fd);
    }
}

TEST(http_server_accept, bytes_after_the_closing_request_make_the_channel_linger) {
    // An HTTP/1.0 request ends the conversation, but the client sent more behind it (a
    // pipelined request): closing with those bytes unread would make the kernel send a reset,
    // which can destroy the reply before the client reads it. The reply and its end of file go,
    // the rest is read and dropped, and the channel closes when the client does.
    for (backend b : medusa_test::every_backend()) {
        SCOPED_TRACE(std::string(to_string(b)));
        hello_server h(b);
        int fd = h.client("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        bool eof = false;
        std::string got = h.read(fd, 20, std::chrono::milliseconds(200), eof);
        EXPECT_TRUE(eof) << "the end of file is behind the reply, not a reset";
        EXPECT_TRUE(got.starts_with("HTTP/1.0 200 OK\r\n")) << got;
        EXPECT_TRUE(got.ends_with("\r\n\r\nhello")) << "one reply: " << got;
        EXPECT_EQ(h.map.size(), 2u) << "lingering until the client closes";
        h.client_closes(fd);
        EXPECT_EQ(h.map.size(), 1u) << "the channel closes on the client's end of file";
    }
}

TEST(http_server_accept, a_close_the_server_decides_lingers_until_the_client_closes) {
    // A request the server refuses (400) on a connection the client meant to keep: the reply
    // and its end of file go, and the channel keeps reading until the client closes, so that
    // bytes the client may still be sending do not turn the close into a reset that destroys
    // the reply. The same when the request said the client ends the conversation (HTTP/1.0):
    // the server's reasons for closing are not the client's, which may still be sending.
    for (backend b : medusa_test::every_backend()) {
        SCOPED_TRACE(std::string(to_string(b)));
        for (std::string req : {std::string("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n"),
                                std::string("GET / HTTP/1.0\r\nContent-Length: zz\r\n\r\n")}) {
            SCOPED_TRACE(req);
            hello_server h(b);
            int fd = h.client(req);
            bool eof = false;
            std::string got = h.read(fd, 20, std::chrono::milliseconds(200), eof);
            EXPECT_TRUE(eof) << "the end of file is behind the reply";
            EXPECT_TRUE(got.starts_with("HTTP/1.1 400 ") || got.starts_with("HTTP/1.0 400 ")) << got;
            for (int i = 0; i < 3; ++i) h.map.poll_once(std::chrono::milliseconds(20));
            EXPECT_EQ(h.map.size(), 2u) << "lingering until the client closes";
            h.client_closes(fd);
            EXPECT_EQ(h.map.size(), 1u) << "the channel closes on the client's end of file";
        }
    }
}

// A second server on the same loop that writes no access log (as medusa-demo --no-log): its
// replies skip the wait for the log line, and bytes_out must still count every byte of each.
class quiet_server_test : public server_test {
protected:
    void install_more_handlers() override {
        quiet_ = make<http_server>("127.0.0.1", 0, std::make_shared<null_logger>(), *map_);
        quiet_->install_handler(files_);
    }
    std::shared_ptr<http_server> quiet_;
};

TEST_P(quiet_server_test, bytes_out_counts_every_reply_without_a_log) {
    client c(quiet_->port());
    c.send(get("/index.html") + get("/style.css") + get("/nope"));
    ASSERT_TRUE(c.read_reply());
    ASSERT_TRUE(c.read_reply());
    auto missing = c.read_reply();
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code(), 404);
    c.send(get("/index.html", "Connection: close\r\n"));
    c.read_all();
    // The same requests again on a connection of their own, their bytes counted as received.
    client d(quiet_->port());
    d.send(get("/index.html") + get("/style.css") + get("/nope") +
           get("/index.html", "Connection: close\r\n"));
    const std::string all = d.read_all();
    ASSERT_GT(all.size(), index_html.size() * 2);
    // Both connections had the same replies (Date aside, the same length): twice the bytes.
    uint64_t want = 2 * all.size();
    for (int i = 0; i < 200 && quiet_->bytes_out.as_long() != want; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(quiet_->bytes_out.as_long(), want);
}

INSTANTIATE_TEST_SUITE_P(backends, quiet_server_test,
                         ::testing::ValuesIn(medusa_test::every_backend()), medusa_test::backend_name);

INSTANTIATE_TEST_SUITE_P(backends, server_test,
                         ::testing::ValuesIn(medusa_test::every_backend()), medusa_test::backend_name);
