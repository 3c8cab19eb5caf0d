// hand_off: queued output drains before the socket leaves the loop, the bytes the channel had read
// but not framed go to the thread, the thread then owns a blocking socket; a client that leaves
// while the output drains gets no thread; a client that leaves while the thread writes costs the
// thread an exception, not the process; a thread that throws is logged and its socket closed.
#include "thread/handoff.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "test/thread/helpers.h"
#include "thread/request_queue.h"

namespace medusa::thread {
namespace {

using namespace testing;

// Reads lines; "HANDOFF" queues a big reply and hands the connection to `start`.
class line_channel : public async_chat {
public:
    line_channel(int fd, socket_map& map, std::function<void(std::shared_ptr<async_chat>)> start)
        : async_chat(fd, map), start_(std::move(start)) {
        set_terminator("\n");
    }
    void collect_incoming_data(std::string_view d) override { line_.append(d); }
    void found_terminator() override {
        if (line_ == "HANDOFF") {
            push(std::string(512 * 1024, 'r'));  // more than the socket takes at once
            start_(std::static_pointer_cast<async_chat>(shared_from_this()));
        }
        line_.clear();
    }

private:
    std::function<void(std::shared_ptr<async_chat>)> start_;
    std::string line_;
};

struct thread_side {
    std::mutex m;
    std::string already_read, then_read;
    bool blocking = false;
};

void serve(thread_side& t, handed_socket s) {
    std::string got;
    char buf[64];
    while (got.find('\n') == std::string::npos) {
        ssize_t n = ::read(s.fd(), buf, sizeof buf);  // blocking: the client sends "more\n"
        if (n <= 0) break;
        got.append(buf, size_t(n));
    }
    {
        std::lock_guard lock(t.m);
        t.already_read = s.already_read();
        t.then_read = got;
        t.blocking = !(::fcntl(s.fd(), F_GETFL) & O_NONBLOCK);
    }
    (void)!::write(s.fd(), "from thread\n", 12);
}  // the socket closes here: the client sees end of file

class HandOff : public ::testing::TestWithParam<bool /*pool*/> {};

void output_drains_first_and_buffered_input_goes_to_the_thread(backend b, bool use_pool) {
    socket_map map(b);
    worker_pool pool(1);
    // On the heap and shared: a detached thread may still be unwinding when the test ends.
    auto side = std::make_shared<thread_side>();
    thread_side& t = *side;
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
    std::weak_ptr<async_chat> weak = make<line_channel>(sv[0], map, [&](std::shared_ptr<async_chat> c) {
        auto fn = [side](handed_socket s) { serve(*side, std::move(s)); };
        if (use_pool)
            hand_off(c, pool, fn);
        else
            hand_off(c, fn);
    });
    ASSERT_EQ(::write(sv[1], "HANDOFF\nafter\n", 14), 14);

    peer_reader peer(sv[1]);
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data.size() >= 512 * 1024; }));
    EXPECT_TRUE(run_until(map, [&] { return weak.expired(); }));  // out of the loop
    ASSERT_EQ(::write(sv[1], "more\n", 5), 5);
    ASSERT_TRUE(peer.run_until_eof(map));
    EXPECT_EQ(peer.data, std::string(512 * 1024, 'r') + "from thread\n");
    std::lock_guard lock(t.m);
    EXPECT_EQ(t.already_read, "after\n");
    EXPECT_EQ(t.then_read, "more\n");
    EXPECT_TRUE(t.blocking);
    pool.shutdown();
    ::close(sv[1]);
}

TEST_P(HandOff, OutputDrainsFirstAndBufferedInputGoesToTheThread) {
    output_drains_first_and_buffered_input_goes_to_the_thread(backend::epoll, GetParam());
}

// On io_uring the reply's last turn may still be in flight when the output queue is empty, and
// the backend may have read "after\n" into its pool: both must be settled before the thread
// gets the socket.
TEST_P(HandOff, OnTheUringBackendTooTheSendInFlightAndTheBytesReadAheadAreSettled) {
    if (!backend_available(backend::uring)) GTEST_SKIP() << "no io_uring here";
    output_drains_first_and_buffered_input_goes_to_the_thread(backend::uring, GetParam());
}

INSTANTIATE_TEST_SUITE_P(ThreadOrPool, HandOff, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "pool" : "thread"; });

TEST(HandOffGone, ClientLeavingWhileOutputDrainsStartsNoThread) {
    socket_map map(backend::epoll);
    std::atomic<bool> started{false};
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    std::weak_ptr<async_chat> weak = make<line_channel>(sv[0], map, [&](std::shared_ptr<async_chat> c) {
        hand_off(c, [&started](handed_socket) { started = true; });
    });
    ASSERT_EQ(::write(sv[1], "HANDOFF\n", 8), 8);
    ASSERT_TRUE(run_until(map, [&] { return map.timer_count() > 0; }));  // draining
    ::close(sv[1]);  // the client goes away without reading the reply
    EXPECT_TRUE(run_until(map, [&] { return weak.expired(); }));
    for (int i = 0; i < 10; ++i) map.poll_once(std::chrono::milliseconds(2));
    EXPECT_FALSE(started);
}

// What a hand-off thread reports back; shared, because a detached thread may outlive the test's
// stack frame by a little.
struct outcome {
    std::atomic<bool> finished{false};
    std::atomic<int> error{0};        // errno of the send that failed
    std::atomic<size_t> sent{0};
};

// Waits (bounded) for a detached or pooled hand-off thread to say it is done.
bool wait_finished(const outcome& o, clock::duration limit = 20s) {
    auto deadline = clock::now() + limit;
    while (!o.finished && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    return o.finished;
}

class HandOffSafety : public ::testing::TestWithParam<bool /*pool*/> {
protected:
    // A line_channel in `map` whose HANDOFF line hands the connection to fn; returns the client
    // end (blocking).
    int connect_handing_off_to(socket_map& map, worker_pool& pool, handoff_fn fn) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
        bool use_pool = GetParam();
        make<line_channel>(sv[0], map, [&pool, fn, use_pool](std::shared_ptr<async_chat> c) {
            if (use_pool)
                hand_off(c, pool, fn);
            else
                hand_off(c, fn);
        });
        return sv[1];
    }
};

TEST_P(HandOffSafety, ClientThatLeavesWhileTheThreadWritesCostsTheThreadAnErrorNotTheProcess) {
    log_capture log;
    socket_map map(backend::epoll);
    worker_pool pool(1);
    auto result = std::make_shared<outcome>();
    int peer = connect_handing_off_to(map, pool, [result](handed_socket s) {
        const std::string block(64 * 1024, 'w');
        auto deadline = clock::now() + 20s;
        try {
            while (clock::now() < deadline) {  // far more than the client will ever read
                s.send_all(block);
                result->sent += block.size();
            }
        } catch (const std::system_error& e) {
            result->error = e.code().value();
            result->finished = true;
            throw;  // logged by hand_off
        }
        result->finished = true;
    });
    ::fcntl(peer, F_SETFL, O_NONBLOCK);
    ASSERT_EQ(::write(peer, "HANDOFF\n", 8), 8);
    peer_reader reader(peer);
    // The loop's queued reply first, then the thread's stream.
    ASSERT_TRUE(reader.run_until(map, [&] { return reader.data.size() >= 512 * 1024 + 100000; }));
    ::close(peer);  // gone, with the thread in the middle of its writes
    ASSERT_TRUE(wait_finished(*result));
    // EPIPE (MSG_NOSIGNAL: no SIGPIPE to kill the process), or ECONNRESET if unread data was
    // pending when the peer closed.
    EXPECT_TRUE(result->error == EPIPE || result->error == ECONNRESET) << result->error;
    // The send names its call and peer.
    auto logged = [&] { return log.contains("exception in hand-off thread: send("); };
    auto until = clock::now() + 20s;
    while (!logged() && clock::now() < until) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(logged());
    // The pool's only worker survived and takes the next hand-off.
    auto second = std::make_shared<outcome>();
    int peer2 = connect_handing_off_to(map, pool, [second](handed_socket s) {
        s.send_all("second\n");
        second->finished = true;
    });
    ::fcntl(peer2, F_SETFL, O_NONBLOCK);
    ASSERT_EQ(::write(peer2, "HANDOFF\n", 8), 8);
    peer_reader reader2(peer2);
    ASSERT_TRUE(reader2.run_until_eof(map));
    EXPECT_EQ(reader2.data, std::string(512 * 1024, 'r') + "second\n");
    EXPECT_TRUE(wait_finished(*second));
    pool.shutdown();
    ::close(peer2);
}

TEST_P(HandOffSafety, AThreadThatThrowsIsLoggedItsSocketClosesAndThePoolGoesOn) {
    log_capture log;
    socket_map map(backend::epoll);
    worker_pool pool(1);
    auto result = std::make_shared<outcome>();
    int peer = connect_handing_off_to(map, pool, [result](handed_socket s) {
        s.send_all("partial reply");
        result->finished = true;
        throw std::runtime_error("hand-off handler failed on purpose");
    });
    ::fcntl(peer, F_SETFL, O_NONBLOCK);
    ASSERT_EQ(::write(peer, "HANDOFF\n", 8), 8);
    peer_reader reader(peer);
    ASSERT_TRUE(reader.run_until_eof(map));  // the socket closed as the exception unwound
    EXPECT_EQ(reader.data, std::string(512 * 1024, 'r') + "partial reply");
    ASSERT_TRUE(wait_finished(*result));
    auto until = clock::now() + 20s;
    auto logged = [&] { return log.contains("exception in hand-off thread: hand-off handler failed on purpose"); };
    while (!logged() && clock::now() < until) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(logged());
    // The exception was the hand-off's, caught before the pool saw it; the worker goes on.
    std::atomic<bool> next{false};
    ASSERT_TRUE(pool.put([&] { next = true; }));
    pool.shutdown();
    EXPECT_TRUE(next);
    EXPECT_EQ(pool.jobs_failed(), 0u);
    ::close(peer);
}

INSTANTIATE_TEST_SUITE_P(ThreadOrPool, HandOffSafety, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "pool" : "thread"; });

TEST(HandOffStop, AStopClosesTheHandedSocketForItsThreadButNotTheDescriptor) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    std::stop_source stop;
    handed_socket s(sv[0], "", address(), stop.get_token());
    EXPECT_FALSE(s.stop_requested());
    std::atomic<ssize_t> got{-2};
    std::thread reader([&] {
        char c;
        got = ::recv(s.fd(), &c, 1, 0);  // blocks: the client sends nothing
    });
    std::this_thread::sleep_for(20ms);  // let it block (either order must work)
    stop.request_stop();
    reader.join();
    EXPECT_EQ(got.load(), 0);  // shut down: end of file for the blocked reader
    EXPECT_TRUE(s.stop_requested());
    EXPECT_GE(::fcntl(s.fd(), F_GETFD), 0);  // still open: the owner closes it
    EXPECT_THROW(s.send_all("x"), std::system_error);
    ::close(sv[1]);
}

TEST(HandOffStop, ReleaseDetachesTheStop) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    std::stop_source stop;
    int fd;
    {
        handed_socket s(sv[0], "", address(), stop.get_token());
        fd = s.release();
    }
    stop.request_stop();  // must not shut down a descriptor the socket no longer owns
    ASSERT_EQ(::write(fd, "ok", 2), 2);
    char buf[2];
    ASSERT_EQ(::read(sv[1], buf, 2), 2);
    ::close(fd);
    ::close(sv[1]);
}

}  // namespace
}  // namespace medusa::thread
