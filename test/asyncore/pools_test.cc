// buffer_stock and block_pool: what a thread keeps for reuse is reused, bounded, and per thread.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/asan.h"
#include "asyncore/block_pool.h"
#include "asyncore/buffer_stock.h"
#include "asyncore/producers.h"

namespace {

namespace stock = medusa::buffer_stock;

// Empties this thread's stock (earlier tests of the process may have left buffers in it).
void drain_stock() {
    std::vector<std::string> out;
    while (stock::kept() > 0) out.push_back(stock::take(0));
}

TEST(BufferStock, AGivenBufferIsTakenAgainEmptyWithItsRoom) {
    drain_stock();
    std::string s = stock::take(300);
    EXPECT_TRUE(s.empty());
    EXPECT_GE(s.capacity(), 300u);
    s.assign(200, 'x');
    const char* storage = s.data();
    stock::give(std::move(s));
    EXPECT_EQ(stock::kept(), 1u);
    std::string again = stock::take(100);
    EXPECT_TRUE(again.empty()) << "a reused buffer comes back cleared";
    EXPECT_EQ(again.data(), storage) << "the same storage, not a new allocation";
    EXPECT_EQ(stock::kept(), 0u);
    // Asked for more than the kept buffer holds: it grows to fit.
    stock::give(std::move(again));
    std::string big = stock::take(5000);
    EXPECT_GE(big.capacity(), 5000u);
}

TEST(BufferStock, TakeSizedGivesExactlyThatManyBytesFromAKeptBuffer) {
    drain_stock();
    // Nothing kept: a fresh string of that size.
    std::string fresh = stock::take_sized(40);
    EXPECT_EQ(fresh.size(), 40u);
    std::string s = stock::take(500);
    s.assign(300, 'x');
    const char* storage = s.data();
    stock::give(std::move(s));
    // Shorter than it was given back: the same storage, cut to size, nothing written.
    std::string a = stock::take_sized(120);
    EXPECT_EQ(a.size(), 120u);
    EXPECT_EQ(a.data(), storage);
    EXPECT_EQ(a[119], 'x') << "its old bytes are left for the caller to overwrite";
    EXPECT_EQ(a.c_str()[120], '\0');
    // Longer: the same storage while it has room, the added bytes written by resize.
    stock::give(std::move(a));
    std::string b = stock::take_sized(450);
    EXPECT_EQ(b.size(), 450u);
    EXPECT_EQ(b.data(), storage);
    // take() still hands a kept buffer back empty, whatever its length was.
    stock::give(std::move(b));
    EXPECT_TRUE(stock::take(10).empty());
    // Past its room: it grows.
    EXPECT_EQ(stock::take_sized(20000).size(), 20000u);
    drain_stock();
}

TEST(BufferStock, KeepsOnlyBuffersWorthKeepingAndAtMostItsBound) {
    drain_stock();
    stock::give(std::string("short"));  // in-place (SSO) storage: nothing to keep
    EXPECT_EQ(stock::kept(), 0u);
    std::string huge;
    huge.reserve(stock::max_capacity + 1);
    stock::give(std::move(huge));  // larger than a stock keeps
    EXPECT_EQ(stock::kept(), 0u);
    for (size_t i = 0; i < stock::max_buffers + 10; ++i) stock::give(std::string(100, 'y'));
    EXPECT_EQ(stock::kept(), stock::max_buffers);
    drain_stock();
}

TEST(BufferStock, EachThreadHasItsOwn) {
    drain_stock();
    stock::give(std::string(100, 'a'));
    size_t other = 99;
    std::thread([&] {
        other = stock::kept();
        stock::give(std::string(100, 'b'));  // kept by that thread, freed as it exits
    }).join();
    EXPECT_EQ(other, 0u);
    EXPECT_EQ(stock::kept(), 1u);
    drain_stock();
}

struct thing {
    explicit thing(int v) : value(v) {}
    int value;
    char room[200];
};
using thing_pool = medusa::block_pool<sizeof(thing), alignof(thing)>;

TEST(BlockPool, AFreedBlockIsReusedByTheNextAllocation) {
    void* a = thing_pool::allocate();
    thing_pool::deallocate(a);
    size_t kept = thing_pool::kept();
    EXPECT_GE(kept, 1u);
    void* b = thing_pool::allocate();
    EXPECT_EQ(a, b);
    EXPECT_EQ(thing_pool::kept(), kept - 1);
    thing_pool::deallocate(b);
}

TEST(BlockPool, KeepsAtMostItsBound) {
    std::vector<void*> blocks;
    for (size_t i = 0; i < thing_pool::max_blocks + 20; ++i) blocks.push_back(thing_pool::allocate());
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size())
        << "blocks in use are distinct";
    for (void* b : blocks) thing_pool::deallocate(b);
    EXPECT_EQ(thing_pool::kept(), thing_pool::max_blocks);
}

TEST(PoolAllocator, AllocateSharedReusesTheBlockOfTheLastObject) {
    medusa::pool_allocator<thing> alloc;
    const void* first;
    {
        auto p = std::allocate_shared<thing>(alloc, 7);
        EXPECT_EQ(p->value, 7);
        first = p.get();
    }
    auto q = std::allocate_shared<thing>(alloc, 8);
    EXPECT_EQ(q.get(), first) << "the control block and object came from the pool again";
    EXPECT_EQ(q->value, 8);
    std::weak_ptr<thing> w = q;
    q.reset();
    EXPECT_TRUE(w.expired());
    // Arrays (n != 1) go to the heap and back.
    auto* many = alloc.allocate(3);
    alloc.deallocate(many, 3);
}

// A producer larger than the biggest pooled size: made from the heap, freed there.
class big_producer : public medusa::producer {
public:
    std::string more() override { return std::exchange(data, {}); }
    std::string data = "big";
    char room[300] = {};
};

// A producer of about 100 bytes: pooled in the 128-byte class.
class mid_producer : public medusa::producer {
public:
    std::string more() override { return {}; }
    char room[64] = {};
};

TEST(ProducerMemory, ProducersReuseTheirBlocksWhateverTheirSize) {
    // Every reply makes and drops a producer or two: the second reply's come from the pool.
    auto first = std::make_unique<medusa::simple_producer>("a");
    const void* block = first.get();
    first.reset();
    medusa::producer_ptr second = std::make_unique<medusa::simple_producer>("b");
    EXPECT_EQ(second.get(), block);
    EXPECT_EQ(second->more(), "b");

    // Deleted through the base pointer, a producer goes back to the pool of its own size (the
    // virtual destructor passes the real size to the sized delete).
    using pool64 = medusa::block_pool<64, 16>;
    using pool128 = medusa::block_pool<128, 16>;
    using pool256 = medusa::block_pool<256, 16>;
    static_assert(sizeof(mid_producer) > 64 && sizeof(mid_producer) <= 128);
    static_assert(sizeof(big_producer) > 256);
    medusa::producer_ptr mid = std::make_unique<mid_producer>();
    size_t k64 = pool64::kept(), k128 = pool128::kept(), k256 = pool256::kept();
    mid.reset();
    EXPECT_EQ(pool128::kept(), std::min(k128 + 1, pool128::max_blocks));
    EXPECT_EQ(pool64::kept(), k64);
    EXPECT_EQ(pool256::kept(), k256);
    // Larger than the largest class: from the heap and back there, no pool touched.
    medusa::producer_ptr big = std::make_unique<big_producer>();
    k64 = pool64::kept(), k128 = pool128::kept(), k256 = pool256::kept();
    EXPECT_EQ(big->more(), "big");
    big.reset();
    EXPECT_EQ(pool64::kept(), k64);
    EXPECT_EQ(pool128::kept(), k128);
    EXPECT_EQ(pool256::kept(), k256);
}

TEST(BlockPool, KeptBlocksArePoisonedUnderAddressSanitizer) {
    if (!medusa::asan::on) GTEST_SKIP() << "not an AddressSanitizer build";
    void* b = thing_pool::allocate();
    EXPECT_FALSE(medusa::asan::is_poisoned(b));
    thing_pool::deallocate(b);
    EXPECT_TRUE(medusa::asan::is_poisoned(b)) << "a kept block must not be usable";
    void* again = thing_pool::allocate();
    EXPECT_EQ(again, b);
    EXPECT_FALSE(medusa::asan::is_poisoned(again));
    thing_pool::deallocate(again);

    drain_stock();
    std::string s(100, 'z');
    const char* bytes = s.data();
    stock::give(std::move(s));
    EXPECT_TRUE(medusa::asan::is_poisoned(bytes)) << "a kept buffer must not be readable";
    std::string t = stock::take(10);
    EXPECT_FALSE(medusa::asan::is_poisoned(t.data()));
}

// Gives a buffer and a block back from its destructor: made before the thread first touches
// the stock and the pool, it is destroyed after them, as the thread exits.
struct gives_back_late {
    std::string buffer = std::string(100, 'q');
    void* block = nullptr;
    ~gives_back_late() {
        stock::give(std::move(buffer));  // the stock is gone: freed, not kept
        thing_pool::deallocate(block);   // the pool is gone: freed, not kept
    }
};

TEST(Pools, ThingsGivenBackAfterTheThreadsPoolsAreGoneAreFreed) {
    std::thread([] {
        thread_local gives_back_late late;  // constructed first, destroyed last
        late.block = thing_pool::allocate();
        stock::give(std::string(100, 'r'));  // the stock now exists (destroyed before `late`)
        thing_pool::deallocate(thing_pool::allocate());
    }).join();
    SUCCEED() << "no crash, and (under ASan) no leak or use after destruction";
}

}  // namespace
