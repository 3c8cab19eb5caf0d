// cgi_reply: reply heads per HTTP version, keep-alive and framing, HEAD, the 502 page byte for
// byte, and the whole writer (scanner + reply) against medusa's recorded CGI transcripts.
#include "cgi/cgi_reply.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "test/cgi/fixtures.h"

namespace medusa::cgi {
namespace {

using testing::fixture_scripts;
using testing::run_one;
using testing::run_writes;

constexpr std::string_view kServer = "medusa/0.5.4";
constexpr std::string_view kDate = "Sun, 09 Sep 2001 01:46:40 GMT";

request_info http10() { return {"1.0", false, false, kServer, kDate}; }
request_info http11() { return {"1.1", false, true, kServer, kDate}; }

scan_result scanned(std::string_view output) { return run_one(output).result; }

// --- HTTP/1.0 -------------------------------------------------------------------------------

TEST(CgiReplyHttp10, PlainOutputGetsMedusasHead) {
    // cgi_plain_no_headers: the same lines in medusa's order.
    const reply r = build_reply(scanned("Hello\n"), http10());
    EXPECT_EQ(r.head,
              "HTTP/1.0 200 OK\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Content-Type: text/html\r\n"
              "Connection: close\r\n"
              "\r\n");
    EXPECT_TRUE(r.pass_body);
    EXPECT_FALSE(r.chunked);
    EXPECT_FALSE(r.keep_alive);
    EXPECT_EQ(r.page, "");
}

TEST(CgiReplyHttp10, StatusIsNotSentAsAHeader) {
    // cgi_status_302 without its "Status: 302 Moved" header line.
    const reply r = build_reply(scanned("Status: 302 Moved\nLocation: /x\n\n<a href=\"/x\">moved</a>\n"), http10());
    EXPECT_EQ(r.head,
              "HTTP/1.0 302 Moved\r\n"
              "Location: /x\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Content-Type: text/html\r\n"
              "Connection: close\r\n"
              "\r\n");
}

TEST(CgiReplyHttp10, KeepAliveNeedsTheClientsWishAndALength) {
    request_info keep = http10();
    keep.keep_alive = true;
    const reply with_length = build_reply(scanned("Content-Length: 4\n\nbody"), keep);
    EXPECT_TRUE(with_length.keep_alive);
    EXPECT_NE(with_length.head.find("\r\nConnection: Keep-Alive\r\n"), std::string::npos);
    EXPECT_NE(with_length.head.find("\r\nContent-Length: 4\r\n"), std::string::npos);
    const reply without = build_reply(scanned("X: y\n\nbody"), keep);
    EXPECT_FALSE(without.keep_alive);
    EXPECT_NE(without.head.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_FALSE(build_reply(scanned("Content-Length: 4\n\nbody"), http10()).keep_alive);
}

TEST(CgiReplyHttp10, ARequestWithoutAVersionGetsAnHttp10HeadAndAClose) {
    request_info none = http11();
    none.version = "";
    const reply r = build_reply(scanned("Hello\n"), none);
    EXPECT_TRUE(r.head.starts_with("HTTP/1.0 200 OK\r\n"));
    EXPECT_FALSE(r.keep_alive);
    EXPECT_FALSE(r.chunked);
    EXPECT_NE(r.head.find("\r\nConnection: close\r\n"), std::string::npos);
}

// --- HTTP/1.1 -------------------------------------------------------------------------------

TEST(CgiReplyHttp11, WithoutALengthTheBodyIsChunkedAndTheConnectionKept) {
    const reply r = build_reply(scanned("Content-Type: text/plain\n\nbody"), http11());
    EXPECT_EQ(r.head,
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Transfer-Encoding: chunked\r\n"
              "\r\n");
    EXPECT_TRUE(r.pass_body);
    EXPECT_TRUE(r.chunked);
    EXPECT_TRUE(r.keep_alive);
}

TEST(CgiReplyHttp11, WithTheScriptsContentLengthNothingIsChunked) {
    const reply r = build_reply(scanned("Content-Length: 4\nContent-Type: text/plain\n\nbody"), http11());
    EXPECT_EQ(r.head,
              "HTTP/1.1 200 OK\r\n"
              "Content-Length: 4\r\n"
              "Content-Type: text/plain\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "\r\n");
    EXPECT_TRUE(r.pass_body);
    EXPECT_FALSE(r.chunked);
    EXPECT_TRUE(r.keep_alive);
}

TEST(CgiReplyHttp11, ConnectionCloseSendsTheBodyToTheEndOfTheConnection) {
    request_info close = http11();
    close.keep_alive = false;
    const reply r = build_reply(scanned("Content-Type: text/plain\n\nbody"), close);
    EXPECT_EQ(r.head,
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Connection: close\r\n"
              "\r\n");
    EXPECT_TRUE(r.pass_body);
    EXPECT_FALSE(r.chunked);
    EXPECT_FALSE(r.keep_alive);
}

TEST(CgiReplyHttp11, AnyOther1xVersionIsAnsweredAs11) {
    request_info v12 = http11();
    v12.version = "1.2";
    EXPECT_TRUE(build_reply(scanned("Hello\n"), v12).head.starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST(CgiReplyHttp11, NoContentAndNotModifiedHaveNoBodyAndNoChunking) {
    for (std::string_view out : {"Status: 204\n\n", "Status: 304\n\nignored"}) {
        SCOPED_TRACE(out);
        const reply r = build_reply(scanned(out), http11());
        EXPECT_FALSE(r.pass_body);
        EXPECT_FALSE(r.chunked);
        EXPECT_TRUE(r.keep_alive);
        EXPECT_EQ(r.head.find("Transfer-Encoding"), std::string::npos);
    }
}

// --- HEAD -----------------------------------------------------------------------------------

TEST(CgiReplyHead, HeadGetsTheHeadersOfAGetAndNoBody) {
    for (const request_info& base : {http10(), http11()}) {
        for (std::string_view out : {"Content-Type: text/plain\n\nbody", "Content-Length: 4\n\nbody"}) {
            request_info head = base;
            head.head = true;
            const reply get = build_reply(scanned(out), base);
            const reply r = build_reply(scanned(out), head);
            EXPECT_EQ(r.head, get.head);
            EXPECT_FALSE(r.pass_body);
            EXPECT_FALSE(r.chunked);
            EXPECT_EQ(r.keep_alive, get.keep_alive);
        }
    }
}

// --- what the server adds, and what it drops ------------------------------------------------

TEST(CgiReplyHeaders, HopByHopHeadersFromTheScriptAreDropped) {
    const reply r = build_reply(
        scanned("Connection: keep-alive\nKeep-Alive: timeout=5\nTransfer-Encoding: chunked\nX-A: 1\n\nbody"),
        http11());
    EXPECT_EQ(r.head,
              "HTTP/1.1 200 OK\r\n"
              "X-A: 1\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Content-Type: text/html\r\n"
              "Transfer-Encoding: chunked\r\n"
              "\r\n");
}

TEST(CgiReplyHeaders, TheScriptsServerAndDateWin) {
    const reply r = build_reply(scanned("Server: mine\ndate: yesterday\n\n"), http10());
    EXPECT_EQ(r.head,
              "HTTP/1.0 200 OK\r\n"
              "Server: mine\r\n"
              "date: yesterday\r\n"
              "Content-Type: text/html\r\n"
              "Connection: close\r\n"
              "\r\n");
}

TEST(CgiReplyHeaders, HeadersGoOutAsNameColonSpaceValue) {
    const reply r = build_reply(scanned("Content-Type:text/plain\n\n"), http10());
    EXPECT_NE(r.head.find("\r\nContent-Type: text/plain\r\n"), std::string::npos);
    EXPECT_EQ(r.head.find("text/html"), std::string::npos);
}

TEST(CgiReplyHeaders, ALocalRedirectServedAsAClientRedirectHasAnEmptyBody) {
    const scan_result res = scanned("Location: /there\nContent-Length: 12\n\n");
    ASSERT_EQ(res.kind, reply_kind::local_redirect);
    const reply r = build_reply(res, http11());
    EXPECT_EQ(r.head,
              "HTTP/1.1 302 Found\r\n"
              "Location: /there\r\n"
              "Content-Length: 0\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Content-Type: text/html\r\n"
              "\r\n");
    EXPECT_FALSE(r.pass_body);
    EXPECT_TRUE(r.keep_alive);
}

// --- the 502 page ---------------------------------------------------------------------------

TEST(CgiReply502, SilentScriptGetsMedusasPageWithAReasonPhrase) {
    const reply r = build_reply(run_writes({}).result, http10());
    const std::string page =
        "<html><h1>Server Error</h1>\r\n"
        "<b>Bad Gateway:</b> No Header from CGI Script\r\n"
        "<pre>Data: ''</pre></html>\r\n";
    EXPECT_EQ(r.page, page);
    EXPECT_EQ(r.head, fmt::format("HTTP/1.0 502 Bad Gateway\r\n"
                                  "Content-Type: text/html\r\n"
                                  "Content-Length: {}\r\n"
                                  "Server: medusa/0.5.4\r\n"
                                  "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
                                  "Connection: close\r\n"
                                  "\r\n",
                                  page.size()));
    EXPECT_FALSE(r.pass_body);
    EXPECT_FALSE(r.chunked);
}

TEST(CgiReply502, TheShownDataIsReprQuotedAndHtmlEscaped) {
    EXPECT_EQ(bad_gateway_page(scanned("Status: 404 Not Found\n")),
              "<html><h1>Server Error</h1>\r\n"
              "<b>Bad Gateway:</b> No Header from CGI Script\r\n"
              "<pre>Data: 'Status: 404 Not Found\\n'</pre></html>\r\n");
    EXPECT_EQ(bad_gateway_page(scanned("X-A: <b>bold</b> & \"it's\"\r\n")),
              "<html><h1>Server Error</h1>\r\n"
              "<b>Bad Gateway:</b> No Header from CGI Script\r\n"
              "<pre>Data: 'X-A: &lt;b&gt;bold&lt;/b&gt; &amp; \"it\\'s\"\\r\\n'</pre></html>\r\n");
}

TEST(CgiReply502, OtherErrorsNameTheProblemAndShowNoData) {
    const scan_result res = scanned("Status: nonsense\n\n");
    ASSERT_EQ(res.error, scan_error::bad_status);
    EXPECT_EQ(bad_gateway_page(res),
              "<html><h1>Server Error</h1>\r\n"
              "<b>Bad Gateway:</b> Bad Status header from CGI Script\r\n"
              "</html>\r\n");
}

TEST(CgiReply502, OverHttp11TheConnectionIsKeptAndHeadGetsNoPage) {
    const scan_result silent = run_writes({}).result;
    const reply r = build_reply(silent, http11());
    EXPECT_TRUE(r.head.starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.head.find("Transfer-Encoding"), std::string::npos);
    request_info head = http11();
    head.head = true;
    const reply h = build_reply(silent, head);
    EXPECT_EQ(h.head, r.head);  // the same Content-Length as for GET
    EXPECT_EQ(h.page, "");
}

TEST(CgiReply502, PythonRepr) {
    EXPECT_EQ(python_repr(""), "''");
    EXPECT_EQ(python_repr("abc"), "'abc'");
    EXPECT_EQ(python_repr("it's"), "\"it's\"");
    EXPECT_EQ(python_repr("it's \"x\""), "'it\\'s \"x\"'");
    EXPECT_EQ(python_repr("a\\b\tc\nd\re"), "'a\\\\b\\tc\\nd\\re'");
    EXPECT_EQ(python_repr(std::string_view("\0\x1f\x7f\xff", 4)), "'\\x00\\x1f\\x7f\\xff'");
}

TEST(CgiReply502, HtmlEscape) { EXPECT_EQ(html_escape("<a href=\"x\">&</a>"), "&lt;a href=\"x\"&gt;&amp;&lt;/a&gt;"); }

// --- the whole writer -----------------------------------------------------------------------

// What a client receives for a script's writes: the head, then the body as the flags say.
std::string wire(const std::vector<std::string>& writes, const request_info& req) {
    std::string out;
    reply r;
    header_scanner scan(
        [&](const scan_result& res) {
            r = build_reply(res, req);
            out += r.head;
            out += r.page;
        },
        [&](std::string_view body) {
            if (!r.pass_body) return;
            if (r.chunked)
                append_chunk(out, body);
            else
                out.append(body);
        });
    for (const auto& w : writes) scan.feed(w);
    scan.finish();
    if (r.chunked) out += last_chunk;
    return out;
}

const testing::script& fixture(std::string_view name) {
    static const auto scripts = fixture_scripts();
    for (const auto& s : scripts)
        if (s.name == name) return s;
    throw std::out_of_range(std::string(name));
}

TEST(CgiWriter, TinyWritesGiveMedusasRawTranscriptBytes) {
    // cgi_tiny_writes, a raw transcript: medusa got this one right, byte for byte.
    EXPECT_EQ(wire(fixture("tiny").writes, http10()),
              "HTTP/1.0 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Connection: close\r\n"
              "\r\n"
              "written one byte at a time\n"
              "end\n");
}

TEST(CgiWriter, PlainKeepsItsLastNewline) {
    // medusa lost the final "\n" (cgi_plain_no_headers).
    EXPECT_TRUE(wire(fixture("plain").writes, http10())
                    .ends_with("\r\n\r\nHello from the plain script.\nNo headers were written.\n"));
}

TEST(CgiWriter, Http11ChunksTheBodyOfEveryScript) {
    EXPECT_EQ(wire(fixture("lines").writes, http11()),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain\r\n"
              "X-Script: lines\r\n"
              "Server: medusa/0.5.4\r\n"
              "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
              "Transfer-Encoding: chunked\r\n"
              "\r\n"
              "10\r\nfirst body line\n\r\n"
              "11\r\nsecond body line\n\r\n"
              "0\r\n\r\n");
}

TEST(CgiWriter, AppendChunk) {
    std::string out;
    append_chunk(out, "");
    EXPECT_EQ(out, "");
    append_chunk(out, std::string(26, 'z'));
    EXPECT_EQ(out, "1a\r\n" + std::string(26, 'z') + "\r\n");
    for (auto [size, line] : std::vector<std::pair<size_t, std::string>>{
             {1, "1\r\n"}, {15, "f\r\n"}, {16, "10\r\n"}, {256, "100\r\n"}, {65535, "ffff\r\n"}}) {
        std::string chunk;
        append_chunk(chunk, std::string(size, 'a'));
        EXPECT_EQ(chunk, line + std::string(size, 'a') + "\r\n");
    }
}

}  // namespace
}  // namespace medusa::cgi
