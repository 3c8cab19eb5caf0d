// hand_off: queued output drains before the socket leaves the loop, the bytes the channel had read
// but not framed go to the thread, the thread then owns a blocking socket; a client that leaves
// while the output drains gets no thread.
#include "thread/handoff.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

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

TEST_P(HandOff, OutputDrainsFirstAndBufferedInputGoesToTheThread) {
    socket_map map(backend::epoll);
    worker_pool pool(1);
    // On the heap and shared: a detached thread may still be unwinding when the test ends.
    auto side = std::make_shared<thread_side>();
    thread_side& t = *side;
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
    std::weak_ptr<async_chat> weak = make<line_channel>(sv[0], map, [&](std::shared_ptr<async_chat> c) {
        auto fn = [side](handed_socket s) { serve(*side, std::move(s)); };
        if (GetParam())
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

}  // namespace
}  // namespace medusa::thread
