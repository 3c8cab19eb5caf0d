// http_request without a channel: reply headers, the status line, the error page, the log date.
#include "http/http_request.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

using namespace medusa::http;

namespace {

std::shared_ptr<http_request> make_request(std::string_view head) {
    request_parser p;
    p.feed(head);
    EXPECT_EQ(p.state(), request_parser::status::complete);
    return std::make_shared<http_request>(nullptr, p.take());
}

}  // namespace

TEST(http_request, request_fields_and_medusas_uri) {
    auto r = make_request("GET /a%20b/c%2541;p?q=%20#f HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r->request(), "GET /a%20b/c%2541;p?q=%20#f HTTP/1.1");
    EXPECT_EQ(r->command(), "GET");
    EXPECT_EQ(r->version(), "1.1");
    EXPECT_EQ(r->raw_uri(), "/a%20b/c%2541;p?q=%20#f");
    // medusa's .uri: the part before '?' decoded (once), the query kept as sent.
    EXPECT_EQ(r->uri(), "/a b/c%41;p?q=%20#f");
    const auto& s = r->split_uri();
    EXPECT_EQ(s.path, "/a b/c%41");
    EXPECT_EQ(s.params, ";p");
    EXPECT_EQ(s.query, "?q=%20");
    EXPECT_EQ(s.fragment, "#f");
    EXPECT_EQ(r->get_header("HOST"), "x");
}

TEST(http_request, split_uri_path_is_the_received_bytes_unless_decoded) {
    // A path with no '%' is a view of the request line itself, however long (no copy, no
    // allocation per request); a decoded one lives in the request and stays put.
    auto r = make_request("GET /images/a-rather-long-file-name.png?v=1 HTTP/1.1\r\n\r\n");
    std::string_view path = r->split_uri().path;
    EXPECT_EQ(path, "/images/a-rather-long-file-name.png");
    std::string_view raw = r->raw_uri();
    EXPECT_EQ(path.data(), raw.data()) << "a view of the received URI";
    auto d = make_request("GET /images/a%20rather%20long%20name.png HTTP/1.1\r\n\r\n");
    std::string_view decoded = d->split_uri().path;
    EXPECT_EQ(decoded, "/images/a rather long name.png");
    EXPECT_EQ(d->split_uri().path.data(), decoded.data()) << "asked again: the same bytes";
}

TEST(http_request, the_plain_uri_shortcut_splits_as_the_general_way) {
    // A URI with no '%', ';' or '#' before its query is split while the request is made; every
    // other one when first asked. Both give what split_uri() of the received URI gives.
    for (std::string_view uri : {"/", "/a.html", "/a?x", "/a?x#f", "/a?x%20y", "/a?x?y", "/?",
                                 "/a?#", "/a?;p", "*", "/a#f?x", "/a;p?x", "/a/b;p/c?x",
                                 "/a%41?x#f", "/a?x#f%20"}) {
        auto r = make_request(fmt::format("GET {} HTTP/1.1\r\n\r\n", uri));
        uri_parts want = split_uri(uri);
        const auto& got = r->split_uri();
        EXPECT_EQ(got.path, want.path.find('%') == std::string_view::npos
                                ? std::string(want.path)
                                : percent_decode(want.path))
            << uri;
        EXPECT_EQ(got.params, want.params) << uri;
        EXPECT_EQ(got.query, want.query) << uri;
        EXPECT_EQ(got.fragment, want.fragment) << uri;
        // medusa's .uri: decoded before the '?' only when it holds a '%'.
        std::string_view before = uri.substr(0, uri.find('?'));
        std::string medusa_uri = before.find('%') == std::string_view::npos
                                     ? std::string(uri)
                                     : percent_decode(before) + std::string(uri.substr(before.size()));
        EXPECT_EQ(r->uri(), medusa_uri) << uri;
    }
}

TEST(http_request, get_header_is_case_insensitive_and_the_first_match) {
    auto r = make_request(
        "GET / HTTP/1.1\r\nHost: one\r\nX-Twice: first\r\nx-twice: second\r\n"
        "A-Header-Name-Longer-Than-A-Cache-Slot: long\r\n\r\n");
    // Asked again and again, in any spelling: the same first field (medusa's scan order).
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(r->get_header("x-twice"), "first");
        EXPECT_EQ(r->get_header("X-TWICE"), "first");
        EXPECT_EQ(r->get_header("host"), "one");
        EXPECT_EQ(r->get_header("Missing"), std::nullopt);
        EXPECT_EQ(r->get_header("a-header-name-longer-than-a-cache-slot"), "long");
    }
    // Many names asked: every answer is right.
    const char* names[] = {"A", "B", "C", "D", "E", "F", "G", "Host", "X-Twice"};
    for (const char* n : names) {
        auto v = r->get_header(n);
        if (std::string_view(n) == "Host") EXPECT_EQ(v, "one");
        else if (std::string_view(n) == "X-Twice") EXPECT_EQ(v, "first");
        else EXPECT_EQ(v, std::nullopt) << n;
    }
    // A name that differs only in length from a present one is not confused with it.
    EXPECT_EQ(r->get_header("Hos"), std::nullopt);
    EXPECT_EQ(r->get_header("Hostt"), std::nullopt);
}

TEST(http_request, reply_headers_by_name) {
    auto r = make_request("GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r->get("Server"), "Medusa/1.12");
    EXPECT_TRUE(r->has("Date"));
    r->set("Content-Type", "text/plain");
    r->set("content-type", "text/html");  // replaces, case-insensitively
    EXPECT_EQ(r->get("Content-Type"), "text/html");
    r->set("Content-Length", uint64_t(42));
    EXPECT_EQ(r->get("Content-Length"), "42");
    r->add_header("Set-Cookie", "a=1");
    r->add_header("Set-Cookie", "b=2");
    size_t cookies = 0;
    for (size_t i = 0; i < r->reply_headers().size(); ++i)
        cookies += r->reply_headers()[i].name == "Set-Cookie";
    EXPECT_EQ(cookies, 2u);
    EXPECT_TRUE(r->remove("Set-Cookie", "a=1"));
    EXPECT_EQ(r->get("Set-Cookie"), "b=2");
    EXPECT_TRUE(r->remove("Set-Cookie"));
    EXPECT_FALSE(r->remove("Set-Cookie"));
    EXPECT_FALSE(r->has("Set-Cookie"));
}

TEST(http_request, server_and_date_come_first_however_the_headers_are_set) {
    // Server and Date are written into the list only when asked for; whichever way a handler
    // sets its headers, the list then reads Server, Date, then its own, in order.
    auto a = make_request("GET / HTTP/1.1\r\n\r\n");
    a->set("Content-Type", "text/plain");
    a->add_header("Set-Cookie", "a=1");
    ASSERT_EQ(a->reply_headers().size(), 4u);
    EXPECT_EQ(a->reply_headers()[0].name, "Server");
    EXPECT_EQ(a->reply_headers()[1].name, "Date");
    EXPECT_EQ(a->reply_headers()[2].name, "Content-Type");
    EXPECT_EQ(a->reply_headers()[3].value, "a=1");
    // Replacing Server keeps its place; removing Date removes it.
    auto b = make_request("GET / HTTP/1.1\r\n\r\n");
    b->set("X-First", "1");
    b->set("server", "Other/1.0");
    EXPECT_TRUE(b->remove("DATE"));
    EXPECT_FALSE(b->has("Date"));
    ASSERT_EQ(b->reply_headers().size(), 2u);
    EXPECT_EQ(b->reply_headers()[0].value, "Other/1.0");
    EXPECT_EQ(b->reply_headers()[1].name, "X-First");
    // Cleared, they are gone like the rest (a CGI script's reply brings its own).
    auto c = make_request("GET / HTTP/1.1\r\n\r\n");
    c->clear_headers();
    EXPECT_FALSE(c->has("Server"));
    EXPECT_TRUE(c->reply_headers().empty());
    // Added again by name, a second Date sits after the first.
    auto d = make_request("GET / HTTP/1.1\r\n\r\n");
    d->add_header("Date", "x");
    ASSERT_EQ(d->reply_headers().size(), 3u);
    EXPECT_EQ(d->reply_headers()[2].value, "x");
    EXPECT_NE(d->reply_headers()[1].value, "x");
}

TEST(http_request, server_or_date_set_from_a_view_of_the_requests_own_headers) {
    // While Server and Date are pending, naming either writes them into the list first, which
    // moves its bytes (to the heap, past 256 of them): a value or name that is a view of those
    // bytes must be read before that. (Under ASan a stale view is a use after free.)
    const std::string big(300, 'v');
    auto a = make_request("GET / HTTP/1.1\r\n\r\n");
    a->set("X-Big", big);
    a->set("Date", *a->get("X-Big"));
    EXPECT_EQ(a->get("Date"), big);
    EXPECT_EQ(a->reply_headers()[1].name, "Date");

    auto b = make_request("GET / HTTP/1.1\r\n\r\n");
    b->set("X-Small", "Other/2.0");
    b->add_header("Server", *b->get("X-Small"));
    ASSERT_EQ(b->reply_headers().size(), 4u);
    EXPECT_EQ(b->reply_headers()[3].value, "Other/2.0");

    auto c = make_request("GET / HTTP/1.1\r\n\r\n");
    c->set("X-Name", "Date");
    c->set("X-Big", big);
    EXPECT_TRUE(c->has("Date"));  // (written in now)
    auto d = make_request("GET / HTTP/1.1\r\n\r\n");
    d->set("X-Name", "Server");
    d->set("X-Big", big);
    EXPECT_TRUE(d->remove(*d->get("X-Name")));  // the name itself a view of the list
    EXPECT_FALSE(d->has("Server"));
    EXPECT_EQ(d->get("X-Big"), big);
}

TEST(http_request, response_line_by_version) {
    EXPECT_EQ(make_request("GET / HTTP/1.1\r\n\r\n")->response(404), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(make_request("GET / HTTP/1.0\r\n\r\n")->response(200), "HTTP/1.0 200 OK");
    EXPECT_EQ(make_request("GET /\r\n\r\n")->response(200), "HTTP/1.0 200 OK");
    EXPECT_EQ(make_request("GET / HTTP/1.2\r\n\r\n")->response(302), "HTTP/1.1 302 Moved Temporarily");
}

TEST(http_request, error_pages_are_medusas) {
    EXPECT_EQ(http_request::error_page(301),
              "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n"
              "<h1>Error response</h1>\r\n<p>Error code 301.\r\n<p>Message: Moved Permanently.\r\n"
              "</body>\r\n");
    EXPECT_EQ(http_request::error_page(301).size(), 142u);
    EXPECT_EQ(http_request::error_page(400).size(), 136u);
    EXPECT_EQ(http_request::error_page(404).size(), 134u);
    EXPECT_EQ(http_request::reason(414), "Request-URI Too Large");
    EXPECT_EQ(http_request::reason(431), "Request Header Fields Too Large");
}

TEST(http_request, error_sets_length_and_type) {
    auto r = make_request("GET / HTTP/1.1\r\n\r\n");
    r->error(404);  // no channel: nothing is sent, the request is done
    EXPECT_TRUE(r->is_done());
    EXPECT_EQ(r->reply_code, 404);
    EXPECT_EQ(r->get("Content-Length"), "134");
    EXPECT_EQ(r->get("Content-Type"), "text/html");
}

TEST(http_request, log_date_string_shape) {
    std::string s = http_request::log_date_string(1000000000);
    ASSERT_EQ(s.size(), 26u) << s;
    EXPECT_EQ(s.substr(0, 21), "09/Sep/2001:01:46:40 ") << s;
    EXPECT_TRUE(s[21] == '+' || s[21] == '-') << s;
    EXPECT_EQ(s.find_first_not_of("0123456789", 22), std::string::npos) << s;
}

TEST(path_has_prefix, is_starts_with) {
    // The early look at the second byte answers as starts_with() would, for every case.
    for (std::string_view path : {"", "/", "/s", "/status", "/status/x", "/statu", "/xtatus",
                                  "status", "/cgi-bin/a", "/cgi-bi"}) {
        for (std::string_view prefix : {"", "/", "/status", "/cgi-bin", "s", "/s"}) {
            EXPECT_EQ(path_has_prefix(path, prefix), path.starts_with(prefix))
                << path << " / " << prefix;
        }
    }
}
