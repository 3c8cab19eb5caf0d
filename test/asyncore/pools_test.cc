// buffer_stock and block_pool: what a thread keeps for reuse is reused, bounded, and per thread.
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

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

TEST(ProducerMemory, ProducersReuseTheirBlocksWhateverTheirSize) {
    // Every reply makes and drops a producer or two: the second reply's come from the pool.
    auto first = std::make_unique<medusa::simple_producer>("a");
    const void* block = first.get();
    first.reset();
    medusa::producer_ptr second = std::make_unique<medusa::simple_producer>("b");
    EXPECT_EQ(second.get(), block);
    EXPECT_EQ(second->more(), "b");
    // Deleted through the base (a virtual destructor passes the real size back).
    medusa::producer_ptr big = std::make_unique<big_producer>();
    EXPECT_EQ(big->more(), "big");
    big.reset();
    medusa::producer_ptr small = std::make_unique<medusa::simple_producer>("c");
    EXPECT_EQ(small->more(), "c");
}

}  // namespace
