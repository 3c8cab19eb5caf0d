// request_queue and worker_pool: bounded put, FIFO get, jobs that throw are logged and the worker
// keeps serving, and shutdown joins every thread whether the workers are idle or busy.
#include "thread/request_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "test/thread/helpers.h"
#include "thread/select_trigger.h"
#include "thread/trigger_file.h"

namespace medusa::thread {
namespace {

using namespace testing;

TEST(RequestQueue, FifoAndBoundedPutLeavesARefusedJobWithItsCaller) {
    request_queue q(2);
    std::string order;
    job a([&] { order += 'a'; }), b([&] { order += 'b'; }), c([&] { order += 'c'; });
    EXPECT_TRUE(q.put(std::move(a)));
    EXPECT_TRUE(q.put(std::move(b)));
    EXPECT_FALSE(q.put(std::move(c)));  // full: the HTTP side answers 503
    EXPECT_TRUE(c);                     // not consumed
    EXPECT_EQ(q.size(), 2u);
    (*q.get())();
    (*q.get())();
    c();
    EXPECT_EQ(order, "abc");
    EXPECT_TRUE(q.put([] {}));  // room again
}

TEST(RequestQueue, CloseRefusesNewJobsAndDrainsOrAbandonsTheRest) {
    request_queue q(10);
    auto sentinel = std::make_shared<int>(0);
    q.put([] {});
    q.put([s = sentinel] {});
    q.close();
    EXPECT_FALSE(q.put([] {}));
    EXPECT_TRUE(q.get().has_value());
    EXPECT_TRUE(q.get().has_value());
    EXPECT_FALSE(q.get().has_value());

    request_queue r(10);
    r.put([s = sentinel] {});
    EXPECT_EQ(sentinel.use_count(), 2);
    r.close(/*abandon=*/true);
    EXPECT_EQ(sentinel.use_count(), 1);  // the dropped job was destroyed
    EXPECT_FALSE(r.get().has_value());
}

TEST(RequestQueue, GetWaitsForAPut) {
    request_queue q;
    std::atomic<bool> got{false};
    std::thread consumer([&] {
        auto j = q.get();
        if (j) (*j)();
    });
    std::this_thread::sleep_for(20ms);
    q.put([&] { got = true; });
    consumer.join();
    EXPECT_TRUE(got);
}

TEST(WorkerPool, RunsEveryJob) {
    std::atomic<int> count{0};
    worker_pool pool(4, 2000);
    EXPECT_EQ(pool.threads(), 4u);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.put([&] { ++count; }));
    pool.shutdown();
    EXPECT_EQ(count.load(), 1000);
    EXPECT_EQ(pool.jobs_run(), 1000u);
    EXPECT_FALSE(pool.put([] {}));
}

TEST(WorkerPool, AJobThatThrowsIsLoggedAndTheWorkerKeepsServing) {
    log_capture log;
    std::atomic<int> after{0};
    worker_pool pool(1);
    pool.put([] { throw std::runtime_error("job failed on purpose"); });
    pool.put([] { throw 7; });
    pool.put([&] { ++after; });
    pool.put([&] { ++after; });
    pool.shutdown();
    EXPECT_EQ(after.load(), 2);  // the only worker survived both exceptions
    EXPECT_EQ(pool.jobs_failed(), 2u);
    EXPECT_TRUE(log.contains("exception in worker thread: job failed on purpose"));
    EXPECT_TRUE(log.contains("exception in worker thread: (unknown exception)"));
}

TEST(WorkerPool, ShutdownWithEveryWorkerBusyFinishesQueuedJobs) {
    gate g;
    std::atomic<int> ran{0};
    worker_pool pool(3, 10);
    for (int i = 0; i < 3; ++i) pool.put([&] { g.wait(); ++ran; });
    for (int i = 0; i < 5; ++i) pool.put([&] { ++ran; });
    ASSERT_TRUE(g.wait_for_waiters(3));  // every worker is busy

    std::thread stopper([&] { pool.shutdown(worker_pool::mode::finish_queued); });
    // shutdown() has closed the queue once a put is refused.
    auto deadline = clock::now() + 20s;
    while (pool.put([] {}) && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    g.open();
    stopper.join();
    EXPECT_EQ(ran.load(), 3 + 5);
}

TEST(WorkerPool, ShutdownWithEveryWorkerBusyCanAbandonQueuedJobs) {
    gate g;
    std::atomic<int> ran{0};
    auto sentinel = std::make_shared<int>(0);
    worker_pool pool(2, 10);
    for (int i = 0; i < 2; ++i) pool.put([&] { g.wait(); ++ran; });
    for (int i = 0; i < 4; ++i) pool.put([&, s = sentinel] { ++ran; });
    ASSERT_TRUE(g.wait_for_waiters(2));
    std::thread stopper([&] { pool.shutdown(worker_pool::mode::abandon_queued); });
    auto deadline = clock::now() + 20s;
    while (pool.put([] {}) && clock::now() < deadline) std::this_thread::sleep_for(1ms);
    g.open();
    stopper.join();
    EXPECT_EQ(ran.load(), 2);  // the running jobs finished; the queued ones were dropped
    EXPECT_EQ(sentinel.use_count(), 1);
}

TEST(WorkerPool, ShutdownFromAWorkerIsRefused) {
    worker_pool pool(1);
    std::atomic<bool> refused{false};
    pool.put([&] {
        try {
            pool.shutdown();
        } catch (const std::logic_error&) {
            refused = true;
        }
    });
    pool.shutdown();
    EXPECT_TRUE(refused);
}

TEST(WorkerPool, JobsAnswerThroughTriggerFiles) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    constexpr int clients = 6;
    std::vector<int> peers;
    std::vector<std::weak_ptr<async_chat>> channels;
    for (int i = 0; i < clients; ++i) {
        auto [c, p] = make_connected(map);
        channels.push_back(c);
        peers.push_back(p);
    }
    worker_pool pool(3, clients);
    for (int i = 0; i < clients; ++i) {
        // The job owns its (move-only) writer.
        ASSERT_TRUE(pool.put([i, tf = trigger_file(trigger, channels[i])]() mutable {
            for (int k = 0; k < 100; ++k) tf.writeline(fmt::format("client {} line {}", i, k));
            tf.close();
        }));
    }
    std::vector<peer_reader> readers;
    for (int fd : peers) readers.push_back(peer_reader{fd});
    bool all = run_until(map, [&] {
        bool done = true;
        for (auto& r : readers) {
            r.read_available();
            done = done && r.eof;
        }
        return done;
    });
    pool.shutdown();
    ASSERT_TRUE(all);
    for (int i = 0; i < clients; ++i) {
        std::string expected;
        for (int k = 0; k < 100; ++k) expected += fmt::format("client {} line {}\r\n", i, k);
        EXPECT_EQ(readers[i].data, expected);
        ::close(peers[i]);
    }
}

}  // namespace
}  // namespace medusa::thread
