// The http_channel services the CGI handler is built on, tried with plain handlers:
// http_request::on_close(), http_channel::redispatch() (internal redirects), and a body that is
// still arriving when its reply has been queued.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "asyncore/socket_map.h"
#include "helpers.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/logger.h"

namespace {

using namespace std::chrono_literals;
using medusa::cgi::testing::client;
using medusa::cgi::testing::reply;
using medusa::http::http_request;

bool wait_for(const std::atomic<bool>& flag, std::chrono::milliseconds timeout = 10s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!flag && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    return flag;
}

// Answers PATH with `text`, at once (or never: `answer` false); counts the body it is sent and
// records the request's internal_redirects() (-1 until a request comes).
class test_handler : public medusa::http::handler {
public:
    test_handler(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}
    bool match(http_request& r) override { return r.split_uri().path == path_; }
    void handle_request(std::shared_ptr<http_request> r) override {
        redirects = r->internal_redirects();
        if (collect) r->set_collector(std::make_shared<counter>(*this));
        if (watch) r->on_close([this] { closed = true; });
        if (!answer) return;
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(text_.size()));
        if (stall) {
            // The head goes out; the body waits for a producer that never has anything.
            r->push(std::make_unique<stalled>());
        } else {
            r->push(text_);
        }
        r->done();
    }

    bool answer = true;    // answer in handle_request (else never)
    bool collect = false;  // collect the body
    bool watch = false;    // on_close sets `closed`
    bool stall = false;    // the body is a producer that is never ready
    std::atomic<bool> closed{false};
    std::atomic<uint64_t> body_bytes{0};
    std::atomic<bool> body_ended{false};
    std::atomic<int> redirects{-1};

private:
    struct stalled : medusa::producer {
        std::string more() override { return {}; }
        bool ready() const override { return false; }
    };
    struct counter : medusa::http::collector {
        explicit counter(test_handler& h) : h_(h) {}
        void collect_incoming_data(std::string_view d) override { h_.body_bytes += d.size(); }
        void found_terminator() override { h_.body_ended = true; }
        test_handler& h_;
    };
    std::string path_, text_;
};

// GET /redirect is redirected internally to /b, from a timer (later than handle_request).
class redirecting : public medusa::http::handler {
public:
    explicit redirecting(medusa::socket_map& map) : map_(map) {}
    bool match(http_request& r) override {
        return r.split_uri().path == "/redirect" || r.split_uri().path == "/now";
    }
    void handle_request(std::shared_ptr<http_request> r) override {
        if (r->split_uri().path == "/now") {
            // Inside handle_request: refused (the channel would go on with the old request).
            r->channel()->redispatch(r, head(*r));
            return;
        }
        map_.call_later(0ms, [r, this] { r->channel()->redispatch(r, head(*r)); });
    }

private:
    // GET /b with the request's version and Connection header.
    static medusa::http::parsed_request head(http_request& r) {
        std::string text = r.version().empty() ? "GET /b HTTP/1.0\r\n"
                                               : "GET /b HTTP/" + std::string(r.version()) + "\r\n";
        if (auto c = r.get_header("Connection")) text += "Connection: " + std::string(*c) + "\r\n";
        text += "\r\n";
        medusa::http::request_parser p(medusa::http::parse_limits{});
        p.feed(text);
        return p.take();
    }
    medusa::socket_map& map_;
};

class ChannelHooks : public ::testing::Test {
protected:
    void SetUp() override {
        map_ = std::make_unique<medusa::socket_map>();
        server_ = medusa::make<medusa::http::http_server>(
            "127.0.0.1", 0, std::make_shared<medusa::http::null_logger>(), *map_);
        a_ = std::make_shared<test_handler>("/a", "a");
        b_ = std::make_shared<test_handler>("/b", "b");
        c_ = std::make_shared<test_handler>("/c", "c");
        server_->install_handler(a_);
        server_->install_handler(b_);
        server_->install_handler(c_);
        server_->install_handler(std::make_shared<redirecting>(*map_));
        server_->max_body = 1000;
        port_ = server_->port();
    }
    void start() {
        loop_ = std::thread([this] {
            while (!stop_) map_->poll_once(20ms);
        });
    }
    void TearDown() override {
        stop_ = true;
        if (loop_.joinable()) loop_.join();
        medusa::close_all(*map_);
        server_.reset();
        map_.reset();
    }

    std::unique_ptr<medusa::socket_map> map_;
    std::shared_ptr<medusa::http::http_server> server_;
    std::shared_ptr<test_handler> a_, b_, c_;
    uint16_t port_ = 0;
    std::thread loop_;
    std::atomic<bool> stop_{false};
};

// --- on_close ---------------------------------------------------------------------------------

TEST_F(ChannelHooks, OnCloseRunsWhenTheClientLeavesBeforeTheReply) {
    a_->answer = false;
    a_->watch = true;
    start();
    {
        client c(port_);
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        // Wait until the request is being served: its handler has run.
        auto end = std::chrono::steady_clock::now() + 10s;
        while (a_->redirects < 0 && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(10ms);
        ASSERT_EQ(a_->redirects, 0);
        EXPECT_FALSE(a_->closed);
    }
    EXPECT_TRUE(wait_for(a_->closed));
}

TEST_F(ChannelHooks, OnCloseSeesTheEndOfFileBehindAPipelinedRequest) {
    a_->answer = false;
    a_->watch = true;
    start();
    {
        client c(port_);
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
        auto end = std::chrono::steady_clock::now() + 10s;
        while (a_->redirects < 0 && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(wait_for(a_->closed));
    EXPECT_EQ(c_->redirects, -1) << "the pipelined request was served";
}

TEST_F(ChannelHooks, OnCloseDoesNotRunOnceTheReplyIsOut) {
    c_->watch = true;   // answered at once
    a_->watch = true;   // never answered: its callback tells when the channel has closed
    a_->answer = false;
    start();
    {
        client c(port_);
        c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_EQ(c.read_reply().body, "c");
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        auto end = std::chrono::steady_clock::now() + 10s;
        while (a_->redirects < 0 && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(wait_for(a_->closed));
    EXPECT_FALSE(c_->closed);
}

// The reply is queued (its head sent) and the client said it sends nothing after its request,
// but the body stalls: the channel still watches the socket, and the client's going runs the
// callback at once (a script's reply to an HTTP/1.0 client, stalled on its output).
TEST_F(ChannelHooks, OnCloseRunsWhenTheClientLeavesAStalledLastReply) {
    a_->watch = true;
    a_->stall = true;
    start();
    {
        client c(port_);
        c.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        reply r = c.read_reply(/*head_only=*/true);
        EXPECT_EQ(r.code(), 200);
        EXPECT_FALSE(a_->closed);
    }
    EXPECT_TRUE(wait_for(a_->closed, 3s));
}

// --- redispatch -------------------------------------------------------------------------------

TEST_F(ChannelHooks, RedispatchAnswersInPlaceAndKeepsTheConnection) {
    start();
    client c(port_);
    c.send("GET /redirect HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    reply first = c.read_reply();
    EXPECT_EQ(first.code(), 200);
    EXPECT_EQ(first.body, "b");
    EXPECT_EQ(b_->redirects, 1);
    reply second = c.read_reply();
    EXPECT_EQ(second.body, "c");
    EXPECT_EQ(c_->redirects, 0);
    c.send("GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "b");
}

TEST_F(ChannelHooks, RedispatchKeepsTheOriginalCloseDecision) {
    start();
    client c(port_);
    c.send("GET /redirect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
           "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    reply r = c.read_reply();
    EXPECT_EQ(r.body, "b");
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_TRUE(c.server_closed());
    EXPECT_EQ(c_->redirects, -1);
}

TEST_F(ChannelHooks, RedispatchInsideHandleRequestIsA500) {
    start();
    client c(port_);
    c.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().code(), 500);
    EXPECT_EQ(c.read_reply().body, "c");
    EXPECT_EQ(server_->exceptions.as_long(), 1);
}

// --- a reply queued before the body has ended --------------------------------------------------

// A body that holds what looks like a request: it must never be answered as one.
std::string body_of(size_t n) {
    std::string fake = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string body = fake;
    while (body.size() + fake.size() <= n) body += fake;
    body.append(n - body.size(), '.');
    return body;
}

TEST_F(ChannelHooks, EarlyReplyWithAKeptConnectionReadsTheBodyThenTheNextRequest) {
    a_->collect = true;
    start();
    std::string body = body_of(900);
    client c(port_);
    c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "a");  // before any of the body
    c.send(body + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "c");
    EXPECT_EQ(a_->body_bytes, 900u);
    EXPECT_TRUE(a_->body_ended);
    EXPECT_EQ(b_->redirects, -1);
}

TEST_F(ChannelHooks, EarlyReplyWithoutACollectorDropsTheBodyThenReadsTheNextRequest) {
    start();
    std::string body = body_of(900);
    client c(port_);
    c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "a");
    c.send(body + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "c");
    EXPECT_EQ(b_->redirects, -1);
}

TEST_F(ChannelHooks, EarlyReplyToAChunkedBodyReadsItThenTheNextRequest) {
    a_->collect = true;
    start();
    client c(port_);
    std::string fake = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    // The head and the first chunk's size line; the reply comes before the chunk's data.
    c.send(fmt::format("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "{:x}\r\n",
                       fake.size()));
    EXPECT_EQ(c.read_reply().body, "a");
    c.send(fake + "\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "c");
    EXPECT_EQ(a_->body_bytes, fake.size());
    EXPECT_TRUE(a_->body_ended);
    EXPECT_EQ(b_->redirects, -1);
}

TEST_F(ChannelHooks, EarlyClosingReplyStillGivesTheCollectorTheWholeBody) {
    a_->collect = true;
    start();
    std::string body = body_of(900);
    client c(port_);
    c.send("POST /a HTTP/1.0\r\nContent-Length: 900\r\n\r\n");
    reply r = c.read_reply();  // before any of the body; it says close
    EXPECT_EQ(r.body, "a");
    EXPECT_EQ(r.header("Connection"), "close");
    c.send(body + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.server_closed());
    EXPECT_TRUE(wait_for(a_->body_ended));
    EXPECT_EQ(a_->body_bytes, 900u);
    EXPECT_EQ(c_->redirects, -1);
    EXPECT_EQ(b_->redirects, -1);
}

TEST_F(ChannelHooks, BodyOverMaxBodyIs413AndNeverReadAsARequest) {
    a_->collect = true;
    a_->answer = false;
    start();
    std::string body = body_of(2000);  // max_body is 1000
    client c(port_);
    c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + body +
           "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    reply r = c.read_reply();
    EXPECT_EQ(r.code(), 413);
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_TRUE(c.server_closed());
    EXPECT_EQ(b_->redirects, -1);
    EXPECT_EQ(c_->redirects, -1);
}

TEST_F(ChannelHooks, RedispatchWhileTheBodyArrivesDropsTheRest) {
    start();
    std::string body = body_of(900);
    client c(port_);
    c.send("POST /redirect HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" + body.substr(0, 10));
    reply first = c.read_reply();
    EXPECT_EQ(first.body, "b");
    EXPECT_EQ(b_->redirects, 1);
    c.send(body.substr(10) + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "c");
    EXPECT_EQ(b_->redirects, 1) << "the body was read as a request";
}

}  // namespace