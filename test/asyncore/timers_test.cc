// Timers (medusa's event_loop.schedule), once per backend: order, cancel, call_every, the wait
// shortened to the next timer, and exceptions in a timer.
#include <chrono>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {

using medusa::backend;
using medusa::make;
using medusa::socket_map;

// The loop lives while the map has a channel: an idle reader keeps it running.
class timer_suite : public ::testing::TestWithParam<backend> {
protected:
    void SetUp() override { idle = make<reader>(m, pair.release_a()); }
    void TearDown() override { medusa::close_all(m); }
    socket_map m{GetParam()};
    sock_pair pair;
    std::shared_ptr<reader> idle;
};

TEST_P(timer_suite, timers_fire_in_deadline_order) {
    std::vector<int> order;
    m.call_later(30ms, [&] {
        order.push_back(3);
        m.stop();
    });
    m.call_later(10ms, [&] { order.push_back(1); });
    m.call_later(20ms, [&] { order.push_back(2); });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_P(timer_suite, timers_due_together_fire_in_the_order_scheduled) {
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) m.call_later(0ms, [&order, i] { order.push_back(i); });
    m.call_later(5ms, [&] { m.stop(); });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(timer_suite, cancel_prevents_the_call) {
    bool fired = false;
    auto id = m.call_later(10ms, [&] { fired = true; });
    EXPECT_EQ(m.timer_count(), 1u);
    EXPECT_TRUE(m.cancel(id));
    EXPECT_FALSE(m.cancel(id));
    EXPECT_EQ(m.timer_count(), 0u);
    m.call_later(40ms, [&] { m.stop(); });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_FALSE(fired);
}

TEST_P(timer_suite, cancel_after_a_one_shot_ran_returns_false) {
    auto id = m.call_later(1ms, [&] { m.stop(); });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_FALSE(m.cancel(id));
}

TEST_P(timer_suite, call_every_repeats_until_cancelled) {
    int ticks = 0;
    medusa::timer_id id = 0;
    id = m.call_every(5ms, [&] {
        if (++ticks == 3) {
            EXPECT_TRUE(m.cancel(id));
            m.call_later(30ms, [&] { m.stop(); });  // time for a fourth tick, were it alive
        }
    });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(ticks, 3);
}

TEST_P(timer_suite, wait_ends_at_the_next_timer) {
    // Each wait may last 30 s, but the timer is due in 20 ms; the bound below is generous.
    m.call_later(20ms, [&] { m.stop(); });
    auto start = medusa::clock::now();
    medusa::loop(std::chrono::duration<double>(30.0), std::nullopt, m);
    EXPECT_LT(medusa::clock::now() - start, 10s);
    EXPECT_FALSE(idle->closed());
}

TEST_P(timer_suite, exception_in_a_timer_is_logged_and_the_loop_goes_on) {
    log_capture logs;
    bool later = false;
    m.call_later(1ms, [] { throw std::runtime_error("tick failed"); });
    m.call_later(20ms, [&] {
        later = true;
        m.stop();
    });
    ASSERT_TRUE(run_bounded(m));
    EXPECT_TRUE(later);
    EXPECT_EQ(logs.count("error: uncaptured exception in timer"), 1) << logs.all();
    EXPECT_EQ(logs.count("tick failed"), 1) << logs.all();
}

TEST_P(timer_suite, timers_do_not_keep_an_empty_map_looping) {
    bool fired = false;
    m.call_later(1h, [&] { fired = true; });
    medusa::close_all(m);
    auto start = medusa::clock::now();
    medusa::loop(std::chrono::duration<double>(30.0), std::nullopt, m);
    EXPECT_LT(medusa::clock::now() - start, 10s);
    EXPECT_FALSE(fired);
    EXPECT_EQ(m.timer_count(), 1u);  // still scheduled for the next loop()
}

INSTANTIATE_TEST_SUITE_P(backends, timer_suite, all_backends, backend_name);

}  // namespace medusa_test
