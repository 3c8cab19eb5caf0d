// tally_add / tally_sub: fetch_add's result and sum whether the process has one thread or many;
// with several threads adding at once, no add is lost (the plain add is only taken while the
// process has a single thread: test/http_util/counter_test.cc runs that path, in a binary that
// starts no thread of its own).
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/tally.h"

namespace {

using medusa::tally_add;
using medusa::tally_sub;

TEST(Tally, ReturnsTheValueBeforeAndAddsLikeFetchAdd) {
    std::atomic<uint64_t> v{40};
    EXPECT_EQ(tally_add(v, 2), 40u);
    EXPECT_EQ(v.load(), 42u);
    EXPECT_EQ(tally_sub(v, 12), 42u);
    EXPECT_EQ(v.load(), 30u);
    // Below zero wraps, as the unsigned fetch_sub does.
    std::atomic<uint64_t> z{1};
    tally_sub(z, 2);
    EXPECT_EQ(z.load(), UINT64_MAX);
}

TEST(Tally, NoAddIsLostWhileThreadsRace) {
    std::atomic<uint64_t> v{0};
    constexpr int kThreads = 4, kAdds = 200000;
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            started.fetch_add(1);
            while (started.load() < kThreads) {
            }  // all at once, so the adds overlap
            for (int i = 0; i < kAdds; ++i) tally_add(v, 1);
            for (int i = 0; i < kAdds / 2; ++i) tally_sub(v, 1);
        });
    }
    EXPECT_FALSE(medusa::process_single_threaded());  // what tally_add asks
    for (auto& th : threads) th.join();
    EXPECT_EQ(v.load(), uint64_t{kThreads} * (kAdds - kAdds / 2));
}

}  // namespace
