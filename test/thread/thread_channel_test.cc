// thread_channel: a thread's pipe output reaches the parent channel in order; end of pipe closes
// the thread_channel (and, with on_eof, the parent); a parent that goes away makes the thread's
// writes fail with EPIPE instead of killing the process.
#include "thread/thread_channel.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "test/thread/helpers.h"

namespace medusa::thread {
namespace {

using namespace testing;

bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0) return false;
        s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

TEST(ThreadChannel, ThreadOutputReachesTheParentInOrder) {
    socket_map map(backend::epoll);
    auto [parent, peer_fd] = make_connected(map);
    std::string expected;
    for (int i = 0; i < 5000; ++i) expected += fmt::format("{:5d} of 5000\r\n", i);

    auto tc = thread_channel::create(parent, [](int fd) {
        for (int i = 0; i < 5000; ++i) write_all(fd, fmt::format("{:5d} of 5000\r\n", i));
    });
    std::weak_ptr<thread_channel> weak_tc = tc;
    tc->start();
    tc.reset();
    peer_reader peer{peer_fd};
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data.size() >= expected.size(); }));
    EXPECT_TRUE(peer.data == expected);
    // End of pipe closed the thread_channel (and the thread was joined as it went away) but
    // not the parent: medusa leaves that to the application.
    EXPECT_TRUE(run_until(map, [&] { return weak_tc.expired(); }));
    EXPECT_FALSE(parent->closed());
    EXPECT_FALSE(peer.eof);
    parent->close();
    ::close(peer_fd);
}

TEST(ThreadChannel, OnEofCanCloseTheParentAfterTheLastByte) {
    socket_map map(backend::poll);
    auto [parent, peer_fd] = make_connected(map);
    thread_channel::create(
        parent, [](int fd) { write_all(fd, std::string(100000, 'q')); },
        [](async_chat& p) { p.close_when_done(); })
        ->start();
    parent.reset();
    peer_reader peer{peer_fd};
    ASSERT_TRUE(peer.run_until_eof(map));
    EXPECT_EQ(peer.data, std::string(100000, 'q'));
    ::close(peer_fd);
}

TEST(ThreadChannel, ParentGoneMakesTheThreadsWritesFailWithEpipe) {
    socket_map map(backend::epoll);
    auto [parent, peer_fd] = make_connected(map);
    std::atomic<int> last_errno{0};
    std::atomic<bool> started{false};
    auto tc = thread_channel::create(parent, [&](int fd) {
        auto deadline = clock::now() + 20s;
        while (clock::now() < deadline) {
            if (::write(fd, "data", 4) < 0) {
                last_errno = errno;
                return;
            }
            started = true;
            std::this_thread::sleep_for(100us);
        }
    });
    tc->start();
    ASSERT_TRUE(run_until(map, [&] { return started.load(); }));
    parent->close();  // the client went away
    parent.reset();
    ASSERT_TRUE(run_until(map, [&] { return tc->closed(); }));
    tc->join();  // safe here: the read end is closed, so the thread cannot block on a full pipe
    EXPECT_TRUE(tc->finished());
    EXPECT_EQ(last_errno.load(), EPIPE);
    ::close(peer_fd);
}

TEST(ThreadChannel, ThreadThatThrowsIsLoggedAndItsPipeStillEnds) {
    log_capture log;
    socket_map map(backend::epoll);
    auto [parent, peer_fd] = make_connected(map);
    auto tc = thread_channel::create(parent, [](int fd) {
        write_all(fd, "before the failure");
        throw std::runtime_error("worker blew up");
    });
    tc->start();
    EXPECT_THROW(tc->start(), std::logic_error);
    peer_reader peer{peer_fd};
    ASSERT_TRUE(peer.run_until(map, [&] { return tc->closed(); }));
    peer.run_until(map, [&] { return peer.data.size() == 18; }, 5s);
    EXPECT_EQ(peer.data, "before the failure");
    tc->join();
    EXPECT_TRUE(log.contains("exception in thread_channel thread: worker blew up"));
    parent->close();
    ::close(peer_fd);
}

TEST(ThreadChannel, NeverStartedClosesItsWriteEnd) {
    socket_map map(backend::epoll);
    auto [parent, peer_fd] = make_connected(map);
    {
        auto tc = thread_channel::create(parent, [](int) {});
        tc->close();
    }
    map.poll_once(std::chrono::milliseconds(1));
    EXPECT_EQ(map.size(), 1u);  // only the parent is left
    parent->close();
    ::close(peer_fd);
}

}  // namespace
}  // namespace medusa::thread
