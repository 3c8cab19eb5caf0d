// counter: medusa's counter.py semantics.
#include "http/counter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

namespace medusa::http {
namespace {

TEST(Counter, IncrementAndDecrementReturnTheOldValue) {
    counter c;
    EXPECT_FALSE(c);
    EXPECT_EQ(c.increment(), 0u);
    EXPECT_EQ(c.increment(5), 1u);
    EXPECT_EQ(c.as_long(), 6u);
    EXPECT_TRUE(c);
    EXPECT_EQ(c.decrement(2), 6u);
    EXPECT_EQ(c.decrement(), 4u);
    EXPECT_EQ(c.as_long(), 3u);
}

TEST(Counter, WhileTheProcessHasOneThreadItCountsTheSame) {
    // A counter's add is a plain load and store while the process has one thread (tally.h).
    // Other tests of this binary start threads, which makes it a fetch_add for good: the path
    // is run in a fresh copy of the binary that runs this test alone ("threadsafe" death tests
    // re-execute it). Exit 3: that copy had a thread already, and the path went untested.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            if (!process_single_threaded()) std::_Exit(3);
            counter c(7);
            bool ok = c.increment(5) == 7 && c.as_long() == 12 && c.decrement(2) == 12;
            for (int i = 0; i < 1000; ++i) c.increment();
            ok = ok && c.as_long() == 1010 && process_single_threaded();
            std::_Exit(ok ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST(Counter, StartsAtTheInitialValueAndPrintsInDecimal) {
    counter c(1234567890123ULL);
    EXPECT_EQ(c.to_string(), "1234567890123");
    EXPECT_EQ(counter().to_string(), "0");
    counter big(UINT64_MAX);
    EXPECT_EQ(big.to_string(), "18446744073709551615");
}

TEST(Counter, CopiesTheValue) {
    counter a(7);
    counter b = a;
    a.increment();
    EXPECT_EQ(b.as_long(), 7u);
    b = a;
    EXPECT_EQ(b.as_long(), 8u);
}

TEST(Counter, CountsEveryIncrementFromSeveralThreads) {
    counter c;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&c] {
            for (int i = 0; i < 10000; ++i) c.increment();
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(c.as_long(), 40000u);
}

}  // namespace
}  // namespace medusa::http
