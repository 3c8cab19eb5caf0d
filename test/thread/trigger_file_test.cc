// trigger_file: a worker's writes reach the channel in order, flushes and full buffers become
// pushes, close() completes after the last byte, and a client that hangs up turns the next
// write into connection_error without the channel being touched again.
#include "thread/trigger_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "test/thread/helpers.h"

namespace medusa::thread {
namespace {

using namespace testing;

TEST(TriggerFile, WorkerLinesArriveInOrderAndCloseEndsTheConnection) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    std::weak_ptr<async_chat> weak = channel;
    channel.reset();  // the map owns it; the test must not keep it alive

    std::string expected;
    for (int i = 0; i < 2000; ++i) expected += fmt::format("line {} of the worker's output\r\n", i);

    std::thread worker([tf = trigger_file(trigger, weak)]() mutable {
        for (int i = 0; i < 2000; ++i) {
            tf.writeline(fmt::format("line {} of the worker's output", i));
            if (i % 97 == 0) tf.flush();
        }
        tf.close();
    });
    peer_reader peer{peer_fd};
    bool got_eof = peer.run_until_eof(map);
    worker.join();
    ASSERT_TRUE(got_eof);
    EXPECT_EQ(peer.data.size(), expected.size());
    EXPECT_TRUE(peer.data == expected);
    EXPECT_TRUE(run_until(map, [&] { return weak.expired(); }));  // close_when_done closed it
    ::close(peer_fd);
}

TEST(TriggerFile, NothingIsSentUntilFlushOrAFullBuffer) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    peer_reader peer{peer_fd};
    trigger_file tf(trigger, channel, nullptr, 16);

    tf.write("hello");
    map.poll_once(std::chrono::milliseconds(10));
    EXPECT_EQ(trigger->stats().pulls, 0u);
    tf.flush();
    EXPECT_EQ(trigger->stats().pulls, 1u);
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data == "hello"; }));

    tf.flush();  // an empty buffer sends nothing
    EXPECT_EQ(trigger->stats().pulls, 1u);

    tf.write(std::string(16, 'x'));  // exactly buffer_size: still buffered (medusa flushes past it)
    EXPECT_EQ(trigger->stats().pulls, 1u);
    tf.write("y");
    EXPECT_EQ(trigger->stats().pulls, 2u);
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data.size() == 5 + 17; }));
    EXPECT_EQ(peer.data, "hello" + std::string(16, 'x') + "y");

    tf.writelines({"a", "b"});
    tf.close();  // no completion: the channel stays open (medusa's trigger_file.close)
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data.size() == 22 + 6; }));
    EXPECT_EQ(peer.data.substr(22), "a\r\nb\r\n");
    EXPECT_FALSE(peer.eof);
    EXPECT_FALSE(channel->closed());
    EXPECT_THROW(tf.write("late"), std::logic_error);
    EXPECT_FALSE(tf.close());  // a second close does nothing
    channel->close();
    ::close(peer_fd);
}

TEST(TriggerFile, CompletionRunsInTheLoopAfterTheLastByte) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    const auto loop_id = std::this_thread::get_id();
    bool done = false, in_loop = false;

    std::thread worker([&, tf = trigger_file(trigger, channel, [&](async_chat& c) {
                                                 done = true;
                                                 in_loop = std::this_thread::get_id() == loop_id;
                                                 c.push("-- request done --");
                                             })]() mutable {
        tf.write(std::string(10000, 'z'));
        tf.close();
    });
    peer_reader peer{peer_fd};
    bool ok = peer.run_until(map, [&] { return peer.data.size() == 10000 + 18; });
    worker.join();
    ASSERT_TRUE(ok);
    EXPECT_TRUE(done);
    EXPECT_TRUE(in_loop);
    EXPECT_EQ(peer.data.substr(10000), "-- request done --");
    EXPECT_FALSE(peer.eof);  // a completion other than close_when_done leaves the channel open
    EXPECT_FALSE(channel->closed());
    channel->close();
    ::close(peer_fd);
}

TEST(TriggerFile, DestructorWithoutCloseStillCompletes) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    std::weak_ptr<async_chat> weak = channel;
    channel.reset();
    std::thread worker([tf = trigger_file(trigger, weak)]() mutable {
        tf.write("partial answer");  // and leave without close(): the destructor completes
    });
    worker.join();
    peer_reader peer{peer_fd};
    ASSERT_TRUE(peer.run_until_eof(map));
    EXPECT_EQ(peer.data, "partial answer");
    ::close(peer_fd);
}

TEST(TriggerFile, ClientHangsUpWhileWorkerWritesTheWriterSaysSo) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    std::weak_ptr<async_chat> weak = channel;
    channel.reset();

    std::atomic<bool> got_error{false}, gave_up{false};
    std::atomic<bool> close_result{true};
    std::atomic<size_t> written{0};
    std::thread worker([&, tf = trigger_file(trigger, weak)]() mutable {
        auto deadline = clock::now() + 20s;
        const std::string chunk(1024, 'w');
        try {
            while (clock::now() < deadline) {
                tf.write(chunk);
                tf.flush();
                written += chunk.size();
                std::this_thread::sleep_for(100us);
            }
            gave_up = true;
        } catch (const connection_error&) {
            got_error = true;
        }
        EXPECT_TRUE(tf.channel_gone());
        close_result = tf.close();
    });

    // The client reads a little, then disconnects.
    peer_reader peer{peer_fd};
    ASSERT_TRUE(peer.run_until(map, [&] { return peer.data.size() >= 64 * 1024; }));
    ::close(peer_fd);
    // The channel notices (EPIPE on its next send), closes and is destroyed; the worker's next
    // write after a thunk has found it gone throws.
    bool noticed = run_until(map, [&] { return got_error || gave_up; }, 30s);
    worker.join();
    ASSERT_TRUE(noticed);
    EXPECT_TRUE(got_error);
    EXPECT_FALSE(gave_up);
    EXPECT_FALSE(close_result);
    EXPECT_TRUE(weak.expired());
    // Thunks still queued for the dead channel run and touch nothing (ASan would see it).
    for (int i = 0; i < 5; ++i) map.poll_once(std::chrono::milliseconds(1));
}

TEST(TriggerFile, AWriterAheadOfASlowClientWaitsInsteadOfQueueingWithoutBound) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    std::weak_ptr<async_chat> weak = channel;
    channel.reset();
    constexpr size_t total = 8 << 20, limit = 64 << 10;
    std::atomic<size_t> written{0};
    std::thread worker([&, tf = trigger_file(trigger, weak)]() mutable {
        tf.set_max_in_flight(limit);
        std::string block(4096, '\0');
        for (size_t i = 0; i < total / block.size(); ++i) {
            std::fill(block.begin(), block.end(), char('a' + i % 26));
            tf.write(block);
            tf.flush();
            written += block.size();
        }
        tf.close();
    });
    // The client reads nothing for a while: the worker must stall once the socket buffers, the
    // channel and its max_in_flight are full, far short of 8 MiB.
    auto until = clock::now() + 500ms;
    while (clock::now() < until) map.poll_once(std::chrono::milliseconds(5));
    size_t stalled_at = written;
    EXPECT_LT(stalled_at, size_t(2 << 20)) << stalled_at;

    peer_reader peer{peer_fd};
    bool eof = peer.run_until_eof(map, 60s);
    worker.join();
    ASSERT_TRUE(eof);
    ASSERT_EQ(peer.data.size(), total);
    for (size_t i = 0; i < total; i += 4096) ASSERT_EQ(peer.data[i], char('a' + (i / 4096) % 26));
    ::close(peer_fd);
}

TEST(TriggerFile, ChannelClosedByTheServerBeforeTheFirstWrite) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    trigger_file tf(trigger, channel);
    channel->close();
    channel.reset();
    tf.write("x");
    tf.flush();  // queued; the thunk will find the channel closed
    EXPECT_FALSE(tf.channel_gone());
    ASSERT_TRUE(run_until(map, [&] { return tf.channel_gone(); }));
    EXPECT_THROW(tf.write("y"), connection_error);
    EXPECT_THROW(tf.flush(), connection_error);
    EXPECT_FALSE(tf.close());
    ::close(peer_fd);
}

TEST(TriggerFile, ClosedTriggerCountsAsGone) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [channel, peer_fd] = make_connected(map);
    trigger_file tf(trigger, channel);
    trigger->close();
    tf.write("x");
    EXPECT_THROW(tf.flush(), connection_error);
    EXPECT_TRUE(tf.channel_gone());
    channel->close();
    ::close(peer_fd);
}

}  // namespace
}  // namespace medusa::thread
