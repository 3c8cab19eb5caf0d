// A server shut down while every worker is busy, over real loopback connections: for the
// hand-off (threads blocked in send() to clients that read nothing, one more hand-off queued)
// and for the script handler (workers waiting on back-pressure for slow clients). Either way
// the server stops accepting, every thread is joined within a bound, the clients see the end of
// their connections, and no descriptor is left open.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "asyncore/socket_map.h"
#include "http/handler.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "test/thread/helpers.h"
#include "thread/handoff.h"
#include "thread/request_queue.h"
#include "thread/thread_handler.h"

namespace medusa::thread {
namespace {

using namespace testing;

// More than any client here reads: a thread that sent it all was never blocked.
constexpr size_t endless = size_t(1) << 30;

struct stream_counts {
    std::atomic<int> started{0}, completed{0}, cut{0};
    std::atomic<size_t> sent{0};
};

// GET /stream: the connection goes to a pool thread, which sends a reply head and then
// `endless` bytes with blocking send()s.
class stream_handoff : public http::handler {
public:
    stream_handoff(worker_pool& pool, std::shared_ptr<stream_counts> counts)
        : pool_(pool), counts_(std::move(counts)) {}
    bool match(http::http_request& r) override { return r.uri() == "/stream"; }
    void handle_request(std::shared_ptr<http::http_request> r) override {
        hand_off(r->channel(), pool_, [counts = counts_](handed_socket s) {
            ++counts->started;
            try {
                s.send_all("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                const std::string block(64 * 1024, 's');
                for (size_t sent = 0; sent < endless; sent += block.size()) {
                    s.send_all(block);
                    counts->sent += block.size();
                }
                ++counts->completed;
            } catch (const std::system_error&) {
                ++counts->cut;
                throw;  // hand_off logs it
            }
        });
    }

private:
    worker_pool& pool_;
    std::shared_ptr<stream_counts> counts_;
};

// An http_server whose loop runs on a thread of its own, stopped as medusa-demo stops.
struct server_under_test {
    socket_map map{backend::epoll};
    worker_pool pool;
    std::shared_ptr<http::http_server> server;
    std::shared_ptr<select_trigger> trigger;
    std::thread loop;
    bool done = false;  // loop thread only

    server_under_test(size_t threads, size_t queue) : pool(threads, queue) {
        server = make<http::http_server>("127.0.0.1", 0, std::make_shared<http::null_logger>(), map);
        trigger = trigger_for(map);
    }
    void start() {
        loop = std::thread([this] {
            while (!done) map.poll_once(std::chrono::milliseconds(100));
        });
    }
    // medusa-demo's order: the loop returns, every channel closes (the listener too: nothing
    // more is accepted), then the pool stops and joins its workers. True if the pool was joined
    // within `limit`; otherwise `unblock` runs (so the test ends) and the join is waited for.
    bool shut_down(clock::duration limit, const std::function<void()>& unblock) {
        trigger->pull_trigger([this] { done = true; });
        loop.join();
        close_all(map);
        auto joined = std::async(std::launch::async, [this] { pool.shutdown(); });
        bool in_time = joined.wait_for(limit) == std::future_status::ready;
        if (!in_time) unblock();
        joined.get();
        return in_time;
    }
    ~server_under_test() {
        if (loop.joinable()) shut_down(20s, [] {});
    }
    uint16_t port() const { return server->port(); }
};

bool wait_until(const std::function<bool()>& pred, clock::duration limit = 20s) {
    auto deadline = clock::now() + limit;
    while (!pred()) {
        if (clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// Waits until the writers are blocked: `progress` (bytes written so far) has grown, then stays
// the same over 200 ms. The tests do not depend on it to pass — a writer that is still running
// at the shutdown is stopped as well — but it makes them test the harder case, a writer blocked
// in the kernel or on back-pressure when the stop comes.
bool wait_until_stalled(const std::function<size_t()>& progress) {
    size_t last = 0;
    return wait_until([&] {
        size_t now = progress();
        if (now > 0 && now == last) return true;
        last = now;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return false;
    });
}

TEST(HandOffShutdown, EveryThreadWritingToASlowClientIsCutShortAndJoined) {
    log_capture log;
    const int fds_before = count_open_fds();
    {
        auto counts = std::make_shared<stream_counts>();
        server_under_test s(2, 8);
        s.server->install_handler(std::make_shared<stream_handoff>(s.pool, counts));
        s.start();
        const uint16_t port = s.port();

        // Two hand-offs keep both workers busy; the third waits in the pool's queue. None of the
        // clients reads: the threads fill the socket buffers and block in send().
        tcp_client a(port), b(port), queued(port);
        for (tcp_client* c : {&a, &b, &queued}) c->send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_TRUE(wait_until([&] { return counts->started == 2 && s.pool.queue().size() == 1; }))
            << "started " << counts->started << ", queued " << s.pool.queue().size();
        ASSERT_TRUE(wait_until_stalled([&] { return counts->sent.load(); }));

        bool joined = s.shut_down(20s, [&] {
            for (tcp_client* c : {&a, &b, &queued}) c->hang_up();
        });
        ASSERT_TRUE(joined) << "pool.shutdown() did not return: a hand-off thread was not stopped";

        EXPECT_EQ(counts->started.load(), 2);  // the queued hand-off was abandoned, never run
        EXPECT_EQ(counts->cut.load(), 2);
        EXPECT_EQ(counts->completed.load(), 0);
        EXPECT_TRUE(log.contains("hand-off thread cut short by shutdown: send("));
        EXPECT_EQ(tcp_client::try_connect(port), ECONNREFUSED);  // no longer accepting

        // Each client gets what was sent, then the end of its connection (not the 10 s timeout).
        for (tcp_client* c : {&a, &b}) {
            std::string got;
            int end = c->read_to_end(got);
            EXPECT_TRUE(end == 0 || end == ECONNRESET) << end;
            EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got.substr(0, 40);
        }
        std::string got;
        int end = queued.read_to_end(got);
        EXPECT_TRUE(end == 0 || end == ECONNRESET) << end;
        EXPECT_EQ(got, "");
    }
    EXPECT_EQ(count_open_fds(), fds_before);  // every handed socket and dup was closed
}

TEST(ScriptHandlerShutdown, EveryWorkerWaitingOnASlowClientIsReleasedAndJoined) {
    const int fds_before = count_open_fds();
    {
        std::atomic<int> started{0}, completed{0}, cut{0};
        std::atomic<size_t> written{0};
        server_under_test s(2, 8);
        auto scripts = std::make_shared<script_handler>(s.pool);
        scripts->add_module("stream", [&](const environment&, std::istream&, script_output& out) {
            ++started;
            try {
                out.write("Content-Type: text/plain\r\n\r\n");
                const std::string block(64 * 1024, 's');
                for (size_t sent = 0; sent < endless; sent += block.size()) {
                    out.write(block);
                    out.flush();  // waits while 1 MiB is on its way (back-pressure)
                    written += block.size();
                }
                ++completed;
            } catch (const connection_error&) {
                ++cut;
                throw;
            }
        });
        s.server->install_handler(scripts);
        s.start();
        const uint16_t port = s.port();

        tcp_client a(port), b(port), queued(port);
        for (tcp_client* c : {&a, &b, &queued}) c->send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_TRUE(wait_until([&] { return started == 2 && s.pool.queue().size() == 1; }));
        ASSERT_TRUE(wait_until_stalled([&] { return written.load(); }));

        bool joined = s.shut_down(20s, [&] {
            for (tcp_client* c : {&a, &b, &queued}) c->hang_up();
        });
        ASSERT_TRUE(joined) << "pool.shutdown() did not return: a worker stayed blocked";
        // The queued script ran after the stop (finish_queued) and found its channel gone at
        // its first write; the two busy ones were released from their wait.
        EXPECT_EQ(completed.load(), 0);
        EXPECT_EQ(cut.load(), started.load());
        EXPECT_EQ(tcp_client::try_connect(port), ECONNREFUSED);
        for (tcp_client* c : {&a, &b, &queued}) {
            std::string got;
            int end = c->read_to_end(got);
            EXPECT_TRUE(end == 0 || end == ECONNRESET) << end;
        }
    }
    EXPECT_EQ(count_open_fds(), fds_before);
}

TEST(ScriptHandlerShutdown, AClientThatHangsUpWhileItsWorkerWaitsReleasesTheWorker) {
    // The worker is blocked on back-pressure (the client reads nothing) when the client goes:
    // the worker must learn of it without writing again, since it is waiting.
    std::atomic<int> cut{0}, completed{0};
    std::atomic<size_t> written{0};
    server_under_test s(1, 8);
    auto scripts = std::make_shared<script_handler>(s.pool);
    scripts->add_module("stream", [&](const environment&, std::istream&, script_output& out) {
        try {
            out.write("Content-Type: text/plain\r\n\r\n");
            const std::string block(64 * 1024, 's');
            for (size_t sent = 0; sent < endless; sent += block.size()) {
                out.write(block);
                out.flush();
                written += block.size();
            }
            ++completed;
        } catch (const connection_error&) {
            ++cut;
            throw;
        }
    });
    s.server->install_handler(scripts);
    s.start();
    {
        tcp_client c(s.port());
        c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        // Blocked: the socket buffers and the 1 MiB in flight are full.
        ASSERT_TRUE(wait_until_stalled([&] { return written.load(); }));
    }  // hang up
    EXPECT_TRUE(wait_until([&] { return cut == 1; })) << "the waiting worker was never released";
    EXPECT_EQ(completed.load(), 0);
}

}  // namespace
}  // namespace medusa::thread
