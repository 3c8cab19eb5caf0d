// handoff_handler end to end: a subclass of a few lines answers from a worker that owns the
// socket; HEAD gets the head only; bytes pipelined behind the request reach serve(); a full pool
// answers 503 in the loop and every client is answered; the access log has the request's line.
#include "thread/handoff_handler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "asyncore/socket_map.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "test/thread/helpers.h"
#include "thread/request_queue.h"
#include "thread/select_trigger.h"

namespace medusa::thread {
namespace {

using namespace testing;

// The few lines a threaded handler takes.
class hello_handler : public handoff_handler {
public:
    using handoff_handler::handoff_handler;
    std::function<void()> before;  // test hook: runs first, on the worker
    void serve(handoff_request& r) override {
        if (before) before();
        r.write("Content-Type: text/plain\r\n\r\n");
        r.write(fmt::format("{} {} read-past={}\n", r.command(), r.uri(), r.already_read()));
    }
};

// The access log, kept (written by the loop thread, read by the test's).
class memory_logger : public http::logger {
public:
    void log(std::string_view message) override {
        std::lock_guard lock(m_);
        lines_.emplace_back(message);
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(m_);
        return lines_;
    }

private:
    mutable std::mutex m_;
    std::vector<std::string> lines_;
};

struct handoff_server {
    socket_map map{backend::epoll};
    worker_pool pool;
    std::shared_ptr<memory_logger> access = std::make_shared<memory_logger>();
    std::shared_ptr<http::http_server> server;
    std::shared_ptr<hello_handler> hello;
    std::shared_ptr<select_trigger> trigger;
    std::thread loop;
    bool done = false;  // loop thread only

    explicit handoff_server(size_t threads = 2, size_t queue = 16) : pool(threads, queue) {
        server = make<http::http_server>("127.0.0.1", 0, access, map);
        hello = std::make_shared<hello_handler>(pool, "/hello");
        server->install_handler(hello);
        trigger = trigger_for(map);
    }
    void start() {
        loop = std::thread([this] {
            while (!done) map.poll_once(std::chrono::milliseconds(100));
        });
    }
    ~handoff_server() {
        pool.shutdown();
        if (loop.joinable()) {
            trigger->pull_trigger([this] { done = true; });
            loop.join();
        }
        close_all(map);
    }
    uint16_t port() const { return server->port(); }

    // Waits (bounded) for an access log line holding `text`.
    bool logged(std::string_view text) const {
        auto deadline = clock::now() + 20s;
        while (clock::now() < deadline) {
            for (const auto& l : access->lines())
                if (l.find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(1ms);
        }
        return false;
    }
};

std::string get(uint16_t port, std::string_view request) {
    tcp_client c(port);
    c.send(request);
    return c.read_all();
}

TEST(HandoffHandler, SubclassAnswersGetFromAWorker) {
    handoff_server s;
    s.start();
    std::string r = get(s.port(), "GET /hello/x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_NE(r.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << r;
    EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos) << r;
    EXPECT_TRUE(r.ends_with("\r\n\r\nGET /hello/x?q=1 read-past=\n")) << r;
    // The prefix is matched at a path boundary only: /helloworld is not this handler's.
    EXPECT_TRUE(get(s.port(), "GET /helloworld HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404")) << r;
}

TEST(HandoffHandler, HeadGetsTheHeadOnly) {
    handoff_server s;
    s.start();
    std::string r = get(s.port(), "HEAD /hello HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200 OK\r\n")) << r;
    EXPECT_NE(r.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << r;
    EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
}

TEST(HandoffHandler, BytesPipelinedPastTheRequestReachServe) {
    handoff_server s;
    s.start();
    std::string r = get(s.port(), "GET /hello HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(r.ends_with("GET /hello read-past=GET /next HTTP/1.1\r\n\r\n\n")) << r;
}

TEST(HandoffHandler, FullPoolAnswers503AndEveryClientIsAnswered) {
    handoff_server s(1 /*thread*/, 1 /*queued job*/);
    gate g;
    std::atomic<int> calls{0};
    s.hello->before = [&] {
        if (calls++ == 0) g.wait();  // the first request holds the only worker
    };
    s.start();
    tcp_client a(s.port()), b(s.port()), c(s.port());
    a.send("GET /hello/a HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(g.wait_for_waiters(1));
    b.send("GET /hello/b HTTP/1.0\r\n\r\n");  // waits in the queue: it is now full
    auto deadline = clock::now() + 20s;
    while (s.pool.queue().size() < 1 && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(s.pool.queue().size(), 1u);
    c.send("GET /hello/c HTTP/1.0\r\n\r\n");
    std::string rc = c.read_all();
    EXPECT_TRUE(rc.starts_with("HTTP/1.0 503 ")) << rc;
    EXPECT_NE(rc.find("Connection: close"), std::string::npos) << rc;
    g.open();
    EXPECT_TRUE(a.read_all().ends_with("GET /hello/a read-past=\n"));
    EXPECT_TRUE(b.read_all().ends_with("GET /hello/b read-past=\n"));
    EXPECT_TRUE(s.logged("\"GET /hello/c HTTP/1.0\" 503 "));
}

TEST(HandoffHandler, WritesTheAccessLogLineWithTheBytesSent) {
    handoff_server s;
    s.start();
    std::string r = get(s.port(), "GET /hello HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r.starts_with("HTTP/1.0 200 ")) << r;
    // medusa's format: "127.0.0.1:PORT - - [date] "request line" status bytes".
    EXPECT_TRUE(s.logged(fmt::format("\"GET /hello HTTP/1.0\" 200 {}", r.size())));
    auto lines = s.access->lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_TRUE(lines.back().starts_with("127.0.0.1:")) << lines.back();
}

TEST(HandoffHandler, ServeThrowingBeforeWritingGives500) {
    handoff_server s;
    log_capture quiet;  // the exception's log line
    s.hello->before = [] { throw std::runtime_error("boom"); };
    s.start();
    std::string r = get(s.port(), "GET /hello HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 500 ")) << r;
    EXPECT_TRUE(s.logged("\"GET /hello HTTP/1.0\" 500 "));
}

}  // namespace
}  // namespace medusa::thread
