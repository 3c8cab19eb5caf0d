// Replaying against a tiny in-test server: a thread with a blocking socket that reads one request
// and answers fixed bytes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "transcript/replay.h"
#include "transcript/suite.h"
#include "transcript/transcript.h"

namespace medusa::transcript {
namespace {

using namespace std::chrono_literals;

// Serves one connection: reads until the end of a request head, writes `reply`, then closes at once
// (`close_after`) or holds the connection open until the client closes (at most `hold`).
class fake_server {
public:
    fake_server(std::string reply, bool close_after, std::chrono::milliseconds hold = 4000ms)
        : reply_(std::move(reply)), close_after_(close_after), hold_(hold) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        EXPECT_EQ(::listen(listener_, 4), 0);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = std::to_string(ntohs(sa.sin_port));
        thread_ = std::thread([this] { serve(); });
    }
    ~fake_server() {
        thread_.join();
        ::close(listener_);
    }
    const std::string& port() const { return port_; }
    const std::string& request() const { return request_; }  // read after the replay

private:
    void serve() {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) return;
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        auto deadline = std::chrono::steady_clock::now() + 5s;
        char buf[4096];
        while (request_.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            pollfd q{fd, POLLIN, 0};
            if (::poll(&q, 1, 100) != 1) continue;
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            request_.append(buf, static_cast<std::size_t>(n));
        }
        ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        if (!close_after_) {
            pollfd q{fd, POLLIN, 0};
            while (::poll(&q, 1, static_cast<int>(hold_.count())) == 1 && ::recv(fd, buf, sizeof buf, 0) > 0) {
            }
        }
        ::close(fd);
    }

    std::string reply_;
    bool close_after_;
    std::chrono::milliseconds hold_;
    int listener_ = -1;
    std::string port_;
    std::string request_;
    std::thread thread_;
};

const char* const page_transcript = R"(@ title: a page
@ protocol: http

> GET /page HTTP/1.0\r\n
> \r\n
< HTTP/1.0 200 OK\r\n
< Server: {*}\r\n
< Content-Length: 13\r\n
< Content-Type: text/html\r\n
< \r\n
< <p>Hello</p>\n
<close>
)";

const std::string page_reply =
    "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nServer: fake/1.0\r\n\r\n<p>Hello</p>\n";

replay_options options_for(const fake_server& s) {
    replay_options o;
    o.port = s.port();
    o.timeout = 3000ms;
    o.close_wait = 500ms;
    o.grace = 100ms;
    return o;
}

TEST(Replay, PassesWhenTheServerAnswersAsRecorded) {
    fake_server server(page_reply, true);
    case_result r = replay(parse(page_transcript, "page.transcript"), options_for(server));
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
    EXPECT_EQ(r.report(), "PASS page\n");
    EXPECT_EQ(server.request(), "GET /page HTTP/1.0\r\n\r\n");
}

TEST(Replay, OneDifferentByteFailsWithADiffPointingAtIt) {
    std::string reply = page_reply;
    reply.replace(reply.find("Hello"), 5, "Hallo");
    fake_server server(reply, true);
    case_result r = replay(parse(page_transcript, "page.transcript"), options_for(server));
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.turn, 1);
    EXPECT_EQ(r.message, "response 1: body differs");
    EXPECT_NE(r.diff.find("--- expected (page, turn 1)\n+++ received\n"), std::string::npos) << r.diff;
    EXPECT_NE(r.diff.find("\n-< <p>Hello</p>\\n\n+< <p>Hallo</p>\\n\n"), std::string::npos) << r.diff;
    // Only that line differs: every other line of the diff is context.
    std::size_t changed = 0;
    for (std::size_t at = 0; (at = r.diff.find('\n', at)) != std::string::npos; ++at) {
        char c = at + 1 < r.diff.size() ? r.diff[at + 1] : ' ';
        changed += c == '-' || c == '+';
    }
    EXPECT_EQ(changed, 3u);  // "+++ received" line, the - line, the + line
    std::string report = r.report();
    EXPECT_EQ(report.rfind("FAIL page: turn 1: response 1: body differs\n", 0), 0u) << report;
}

TEST(Replay, CloseExpectedButTheServerStaysOpen) {
    fake_server server(page_reply, false, 4000ms);
    auto start = std::chrono::steady_clock::now();
    case_result r = replay(parse(page_transcript, "page.transcript"), options_for(server));
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.message, "the transcript says <close> but the server kept the connection open for 0.5 s");
    EXPECT_NE(r.diff.find("\n-<close>\n"), std::string::npos) << r.diff;
    EXPECT_LT(took, 3500ms);  // bounded by close_wait, not by the server's hold
}

TEST(Replay, TheServerClosesWhereTheTranscriptDoesNot) {
    std::string text = page_transcript;
    text.erase(text.find("<close>\n"));
    fake_server server(page_reply, true);
    case_result r = replay(parse(text, "open.transcript"), options_for(server));
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.message, "the server closed the connection after the last expected reply; the transcript has no <close> here");
    EXPECT_NE(r.diff.find("\n+<close>\n"), std::string::npos) << r.diff;
}

TEST(Replay, KeptOpenWithoutCloseIsAPass) {
    std::string text = page_transcript;
    text.erase(text.find("<close>\n"));
    fake_server server(page_reply, false, 2000ms);
    case_result r = replay(parse(text, "open.transcript"), options_for(server));
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

TEST(Replay, TheServerClosesEarly) {
    fake_server server(page_reply.substr(0, page_reply.size() - 4), true);
    case_result r = replay(parse(page_transcript, "page.transcript"), options_for(server));
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.message, "response 1 of 1 has not arrived in full (the server closed the connection)");
}

TEST(Replay, ExtraBytesAfterTheReplyFail) {
    fake_server server(page_reply + "junk", true);
    case_result r = replay(parse(page_transcript, "page.transcript"), options_for(server));
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.message, "bytes arrived where the transcript says <close>");
    EXPECT_NE(r.diff.find("\n+< junk\n"), std::string::npos) << r.diff;
}

TEST(Replay, ASilentServerTimesOut) {
    fake_server server("", false, 3000ms);
    replay_options o = options_for(server);
    o.timeout = 300ms;
    case_result r = replay(parse(page_transcript, "page.transcript"), o);
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.message, "response 1 of 1 has not arrived in full (timed out after 0.3 s)");
}

TEST(Replay, RawProtocolComparesBytes) {
    std::string text = "@ protocol: raw\n> PING\\r\\n\\r\\n\n< PONG {*}\\r\\n\n<close>\n";
    fake_server server("PONG 42\r\n", true);
    case_result r = replay(parse(text, "raw.transcript"), options_for(server));
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

TEST(Replay, ConnectionRefusedIsAFailureNotACrash) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    replay_options o;
    o.port = std::to_string(ntohs(sa.sin_port));  // bound but not listening: refused
    case_result r = replay(parse(page_transcript, "page.transcript"), o);
    ::close(fd);
    ASSERT_EQ(r.outcome, verdict::fail);
    EXPECT_EQ(r.turn, 0);
    EXPECT_EQ(r.message.rfind("connect(127.0.0.1:", 0), 0u) << r.message;
    EXPECT_EQ(r.report().rfind("FAIL page: connect(127.0.0.1:", 0), 0u) << r.report();
}

TEST(Junit, ReportCountsAndEscapes) {
    case_result pass{"a", "docroot", verdict::pass, 0, "", "", 10ms};
    case_result fail{"b<1>", "cgi", verdict::fail, 2, "response 1: body differs", "-< x\n+< y & z\n", 20ms};
    case_result skip{"c", "docroot", verdict::skip, 0, "QUIRKS row 1", "", 0ms};
    std::string xml = junit_xml({pass, fail, skip}, "medusa-transcript");
    EXPECT_NE(xml.find("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("name=\"b&lt;1&gt;\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("<failure message=\"turn 2: response 1: body differs\">-&lt; x\n+&lt; y &amp; z\n</failure>"),
              std::string::npos) << xml;
    EXPECT_NE(xml.find("<skipped message=\"fixed: QUIRKS row 1\"/>"), std::string::npos) << xml;
}

}  // namespace
}  // namespace medusa::transcript
