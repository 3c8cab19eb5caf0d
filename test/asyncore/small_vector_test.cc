// small_vector: inline up to N, on the heap past it, elements kept in order through growth,
// moves and erase_if; owned elements destroyed exactly once.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "asyncore/small_vector.h"

namespace {

using medusa::small_vector;

TEST(SmallVector, StaysInlineUpToNThenGrows) {
    small_vector<std::string, 2> v;
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(v.capacity(), 2u);
    v.push_back("a");
    v.emplace_back(3, 'b');
    const std::string* inline_data = v.data();
    EXPECT_EQ(v.capacity(), 2u);
    v.push_back(std::string(100, 'c'));  // past N: moved to the heap
    EXPECT_NE(v.data(), inline_data);
    EXPECT_GE(v.capacity(), 3u);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], "a");
    EXPECT_EQ(v[1], "bbb");
    EXPECT_EQ(v[2], std::string(100, 'c'));
    EXPECT_EQ(v.back(), std::string(100, 'c'));
    std::string joined;
    for (const auto& s : v) joined += s.substr(0, 1);
    EXPECT_EQ(joined, "abc");
}

TEST(SmallVector, AppendCopiesARangeAfterTheOthersGrowingWhenNeeded) {
    small_vector<std::string, 3> v;
    v.push_back("a");
    const std::string more[] = {"b", "c"};
    v.append(more, 2);  // fits inline
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v.capacity(), 3u);
    const std::string rest[] = {"d", "e", "f"};
    v.append(rest, 3);  // past N
    ASSERT_EQ(v.size(), 6u);
    std::string joined;
    for (const auto& s : v) joined += s;
    EXPECT_EQ(joined, "abcdef");
    EXPECT_EQ(more[0], "b");  // copied, not moved from
    v.append(rest, 0);
    EXPECT_EQ(v.size(), 6u);
}

TEST(SmallVector, MovesInlineAndHeapContents) {
    small_vector<std::unique_ptr<int>, 2> inl;
    inl.push_back(std::make_unique<int>(1));
    small_vector<std::unique_ptr<int>, 2> moved(std::move(inl));
    EXPECT_TRUE(inl.empty());
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(*moved[0], 1);

    small_vector<std::unique_ptr<int>, 2> heap;
    for (int i = 0; i < 5; ++i) heap.push_back(std::make_unique<int>(i));
    const auto* storage = heap.data();
    moved = std::move(heap);  // the heap block changes hands, no element moves
    EXPECT_EQ(moved.data(), storage);
    EXPECT_TRUE(heap.empty());
    EXPECT_EQ(heap.capacity(), 2u);
    ASSERT_EQ(moved.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(*moved[size_t(i)], i);
    heap.push_back(std::make_unique<int>(9));  // a moved-from vector is usable again
    EXPECT_EQ(*heap[0], 9);
}

TEST(SmallVector, PushBackOfItsOwnElementWhileGrowing) {
    small_vector<std::string, 2> v;
    v.push_back(std::string(40, 'x'));
    v.push_back("y");
    v.push_back(v[0]);  // full: the copy is made before v[0] moves
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[2], std::string(40, 'x'));
    EXPECT_EQ(v[0], std::string(40, 'x'));
}

TEST(SmallVector, CopiesAndEraseIf) {
    small_vector<int, 4> v;
    for (int i = 0; i < 10; ++i) v.push_back(i);
    small_vector<int, 4> c = v;
    EXPECT_EQ(erase_if(c, [](int x) { return x % 3 == 0; }), 4u);
    ASSERT_EQ(c.size(), 6u);
    int expected[] = {1, 2, 4, 5, 7, 8};
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(c[i], expected[i]);
    EXPECT_EQ(v.size(), 10u);  // the original is untouched
    c.clear();
    EXPECT_TRUE(c.empty());
}

TEST(SmallVector, DestroysEveryElementOnce) {
    auto counter = std::make_shared<int>(0);
    {
        small_vector<std::shared_ptr<int>, 2> v;
        for (int i = 0; i < 7; ++i) v.push_back(counter);
        EXPECT_EQ(counter.use_count(), 8);
        erase_if(v, [n = 0](const auto&) mutable { return n++ % 2 == 0; });
        EXPECT_EQ(counter.use_count(), 4);
    }
    EXPECT_EQ(counter.use_count(), 1);
}

}  // namespace
