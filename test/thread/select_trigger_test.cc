// select_trigger: every thunk runs once, in the loop thread, in pull order per thread; pulls
// coalesce into few wake-ups; a blocked loop wakes on every backend and with both descriptors.
#include "thread/select_trigger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <stdexcept>
#include <memory>
#include <thread>
#include <vector>

#include "test/thread/helpers.h"
#include "test/backends.h"

namespace medusa::thread {
namespace {

using namespace testing;
using kind = select_trigger::kind;

std::string kind_name(const ::testing::TestParamInfo<kind>& info) {
    return info.param == kind::eventfd ? "eventfd" : "pipe";
}

class TriggerKind : public ::testing::TestWithParam<kind> {};

TEST_P(TriggerKind, ManyThreadsPullingEveryThunkRunsOnceInOrderWithFewWakeups) {
    constexpr int threads = 8, pulls_each = 5000;
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map, GetParam());

    // Touched only by thunks, i.e. only in the loop thread (TSan checks that claim).
    std::vector<std::vector<int>> seen(threads);
    std::thread::id loop_id = std::this_thread::get_id();
    int wrong_thread = 0, total = 0;

    std::latch start(threads);
    std::vector<std::thread> pullers;
    for (int t = 0; t < threads; ++t) {
        pullers.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < pulls_each; ++i) {
                bool ok = trigger->pull_trigger([&, t, i] {
                    if (std::this_thread::get_id() != loop_id) ++wrong_thread;
                    seen[t].push_back(i);
                    ++total;
                });
                if (!ok) std::abort();
            }
        });
    }
    bool done = run_until(map, [&] { return total == threads * pulls_each; }, 60s);
    for (auto& p : pullers) p.join();
    ASSERT_TRUE(done) << "ran " << total << " of " << threads * pulls_each;

    EXPECT_EQ(wrong_thread, 0);
    for (int t = 0; t < threads; ++t) {
        ASSERT_EQ(seen[t].size(), size_t(pulls_each)) << "thread " << t;
        for (int i = 0; i < pulls_each; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
    }
    auto s = trigger->stats();
    EXPECT_EQ(s.pulls, uint64_t(threads * pulls_each));
    EXPECT_EQ(s.thunks_run, uint64_t(threads * pulls_each));
    EXPECT_EQ(s.thunks_failed, 0u);
    // Coalescing: only a pull onto an empty queue writes. 8 threads pull far faster than the loop
    // can cycle through poll and a swap, so most pulls find a batch already waiting.
    EXPECT_LT(s.wakeups * 4, s.pulls) << "wakeups=" << s.wakeups;
    RecordProperty("wakeups", int(s.wakeups));
    EXPECT_LE(s.drains, s.wakeups);
}

TEST_P(TriggerKind, PullsBetweenTwoPassesCostOneWakeup) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map, GetParam());
    int ran = 0;
    for (int i = 0; i < 1000; ++i) trigger->pull_trigger([&] { ++ran; });
    EXPECT_EQ(trigger->stats().wakeups, 1u);
    EXPECT_EQ(ran, 0);  // thunks run in the loop, not in pull_trigger()

    ASSERT_TRUE(run_until(map, [&] { return ran == 1000; }));
    EXPECT_EQ(trigger->stats().drains, 1u);

    // The descriptor was fully drained: an idle pass finds nothing to read.
    map.poll_once(std::chrono::milliseconds(20));
    EXPECT_EQ(trigger->stats().drains, 1u);

    // The next batch writes again.
    trigger->pull_trigger([&] { ++ran; });
    EXPECT_EQ(trigger->stats().wakeups, 2u);
    ASSERT_TRUE(run_until(map, [&] { return ran == 1001; }));
}

TEST_P(TriggerKind, ThunkThatThrowsIsLoggedAndTheRestRun) {
    log_capture log;
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map, GetParam());
    std::vector<char> order;
    trigger->pull_trigger([&] { order.push_back('a'); });
    trigger->pull_trigger([] { throw std::runtime_error("boom in thunk"); });
    trigger->pull_trigger([&] { order.push_back('b'); });
    trigger->pull_trigger([] { throw 42; });
    trigger->pull_trigger([&] { order.push_back('c'); });
    ASSERT_TRUE(run_until(map, [&] { return order.size() == 3; }));
    EXPECT_EQ(order, (std::vector<char>{'a', 'b', 'c'}));
    EXPECT_TRUE(log.contains("exception in trigger thunk: boom in thunk"));
    EXPECT_TRUE(log.contains("exception in trigger thunk: (unknown exception)"));
    EXPECT_EQ(trigger->stats().thunks_failed, 2u);
    EXPECT_EQ(trigger->stats().thunks_run, 3u);
}

TEST_P(TriggerKind, ThunkPulledByAThunkRunsOnALaterPass) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map, GetParam());
    std::vector<int> order;
    trigger->pull_trigger([&] {
        order.push_back(1);
        trigger->pull_trigger([&] { order.push_back(3); });
    });
    trigger->pull_trigger([&] { order.push_back(2); });
    ASSERT_TRUE(run_until(map, [&] { return order.size() == 3; }));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(trigger->stats().drains, 2u);
}

TEST_P(TriggerKind, ManyThreadsPullingWhileTheLoopClosesTheTrigger) {
    // Shutdown with pullers still running: every thunk is destroyed exactly once (run, dropped by
    // close(), or refused and destroyed in its puller), and none runs after close().
    constexpr int threads = 8, pulls_each = 5000;
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map, GetParam());

    // Each thunk holds the only reference to one token; the token counts its destruction.
    struct token {
        std::atomic<int>* destroyed;
        ~token() { ++*destroyed; }
    };
    std::atomic<int> destroyed{0}, refused{0};
    int ran = 0, ran_after_close = 0;  // loop thread only
    bool closed_now = false;           // loop thread only

    std::latch start(threads + 1);
    std::vector<std::thread> pullers;
    for (int t = 0; t < threads; ++t) {
        pullers.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < pulls_each; ++i) {
                bool ok = trigger->pull_trigger([&, t = std::make_shared<token>(&destroyed)] {
                    ++ran;
                    if (closed_now) ++ran_after_close;
                });
                if (!ok) ++refused;
            }
        });
    }
    start.arrive_and_wait();
    ASSERT_TRUE(run_until(map, [&] { return ran >= threads * pulls_each / 4; }, 60s));
    trigger->close();  // as close_all() does at shutdown, with the pullers still going
    closed_now = true;
    for (int i = 0; i < 5; ++i) map.poll_once(std::chrono::milliseconds(1));
    for (auto& p : pullers) p.join();
    for (int i = 0; i < 5; ++i) map.poll_once(std::chrono::milliseconds(1));

    EXPECT_EQ(ran_after_close, 0);
    EXPECT_EQ(destroyed.load(), threads * pulls_each);  // none leaked, none destroyed twice
    EXPECT_LE(ran + refused.load(), threads * pulls_each);
    EXPECT_EQ(uint64_t(ran), trigger->stats().thunks_run);
    EXPECT_FALSE(trigger->pull_trigger([] {}));
}

INSTANTIATE_TEST_SUITE_P(Both, TriggerKind, ::testing::Values(kind::eventfd, kind::pipe),
                         kind_name);

// A loop blocked in its poller with a 30 s timeout wakes promptly when another thread pulls.
class WakeBlockedLoop : public ::testing::TestWithParam<std::tuple<backend, kind>> {};

TEST_P(WakeBlockedLoop, PullWakesALoopBlockedFor30Seconds) {
    auto [b, k] = GetParam();
    socket_map map(b);
    auto trigger = select_trigger::create(map, k);
    std::atomic<bool> ran{false};
    std::thread puller([&] {
        std::this_thread::sleep_for(50ms);  // let the loop block first (either order must work)
        trigger->pull_trigger([&] { ran = true; });
    });
    auto t0 = clock::now();
    while (!ran && clock::now() - t0 < 40s) map.poll_once(std::chrono::seconds(30));
    auto elapsed = clock::now() - t0;
    puller.join();
    ASSERT_TRUE(ran);
    EXPECT_LT(elapsed, 5s);
}

INSTANTIATE_TEST_SUITE_P(
    EveryBackend, WakeBlockedLoop,
    ::testing::Combine(::testing::ValuesIn(medusa_test::every_backend()),
                       ::testing::Values(kind::eventfd, kind::pipe)),
    [](const auto& info) {
        return std::string(to_string(std::get<0>(info.param))) + "_" +
               (std::get<1>(info.param) == kind::eventfd ? "eventfd" : "pipe");
    });

TEST(SelectTrigger, CallInLoopRunsOnlyForALiveChannel) {
    socket_map map(backend::epoll);
    auto trigger = select_trigger::create(map);
    auto [live, live_peer] = make_connected(map);
    auto [closing, closing_peer] = make_connected(map);
    auto [handed_off, handed_peer] = make_connected(map);
    std::weak_ptr<sink_channel> gone;
    int gone_peer;
    {
        auto [c, p] = make_connected(map);
        gone = c;
        gone_peer = p;
        c->close();
    }
    map.poll_once(std::chrono::milliseconds(1));  // the closed channel leaves the graveyard
    ASSERT_TRUE(gone.expired());

    std::vector<std::string> ran, skipped;
    auto record = [&](std::string name, std::weak_ptr<sink_channel> w) {
        trigger->call_in_loop(
            w, [&ran, name](sink_channel& c) { ran.push_back(name + (c.closed() ? "!" : "")); },
            [&skipped, name] { skipped.push_back(name); });
    };
    record("live", live);
    record("closing", closing);
    record("handed_off", handed_off);
    record("gone", gone);
    closing->close();           // closed after the pull, before the thunk runs
    handed_off->del_channel();  // another owner now: the loop must leave it alone
    ASSERT_TRUE(run_until(map, [&] { return ran.size() + skipped.size() == 4; }));
    EXPECT_EQ(ran, (std::vector<std::string>{"live"}));
    EXPECT_EQ(skipped, (std::vector<std::string>{"closing", "handed_off", "gone"}));
    for (int fd : {live_peer, closing_peer, handed_peer, gone_peer}) ::close(fd);
}

TEST(SelectTrigger, PullAfterCloseIsRefused) {
    socket_map map(backend::poll);
    auto trigger = select_trigger::create(map, select_trigger::kind::pipe);
    bool ran = false;
    EXPECT_TRUE(trigger->pull_trigger([&] { ran = true; }));
    trigger->close();
    EXPECT_FALSE(trigger->pull_trigger([&] { ran = true; }));
    map.poll_once(std::chrono::milliseconds(1));
    EXPECT_FALSE(ran);  // queued thunks are dropped with the trigger
}

TEST(SelectTrigger, TriggerForGivesOnePerMapAndReplacesAClosedOne) {
    socket_map a(backend::epoll), b(backend::epoll);
    auto ta = trigger_for(a);
    EXPECT_EQ(trigger_for(a), ta);
    EXPECT_EQ(a.size(), 1u);
    auto tb = trigger_for(b);
    EXPECT_NE(ta, tb);
    EXPECT_EQ(a.get(ta->fileno()), ta);
    ta->close();
    auto ta2 = trigger_for(a);
    EXPECT_NE(ta2, ta);
    EXPECT_FALSE(ta2->closed());
    bool ran = false;
    ta2->pull_trigger([&] { ran = true; });
    EXPECT_TRUE(run_until(a, [&] { return ran; }));
}

TEST(SelectTrigger, ReprNamesTheMechanism) {
    socket_map map(backend::epoll);
    EXPECT_NE(select_trigger::create(map, select_trigger::kind::pipe)->repr().find("(pipe)"),
              std::string::npos);
    EXPECT_NE(select_trigger::create(map, select_trigger::kind::eventfd)->repr().find("(eventfd)"),
              std::string::npos);
}

}  // namespace
}  // namespace medusa::thread
