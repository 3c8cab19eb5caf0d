// small_buffer: bytes inline up to N, on the heap past it; kept in order through growth, moves
// (inline bytes copied, a heap block handed over) and copies; truncate and resize keep the prefix.
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "asyncore/small_buffer.h"

namespace {

using medusa::small_buffer;

TEST(SmallBuffer, InlineUpToNThenOnTheHeap) {
    small_buffer<8> b;
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(b.is_inline());
    b.append("abcd");
    b.push_back('e');
    b.append(std::string_view("fgh"));
    EXPECT_TRUE(b.is_inline());
    EXPECT_EQ(b.capacity(), 8u);
    EXPECT_EQ(b.view(), "abcdefgh");
    b.append("i");  // the ninth byte: to the heap, the first eight with it
    EXPECT_FALSE(b.is_inline());
    EXPECT_GE(b.capacity(), 9u);
    EXPECT_EQ(b.view(), "abcdefghi");
    b.assign("xy");
    EXPECT_EQ(b.view(), "xy");
    b.clear();
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.view(), "");
}

TEST(SmallBuffer, AMoveCopiesInlineBytesAndHandsOverAHeapBlock) {
    small_buffer<8> in;
    in.append("head");
    small_buffer<8> moved(std::move(in));
    EXPECT_EQ(moved.view(), "head");
    EXPECT_TRUE(moved.is_inline());
    EXPECT_TRUE(in.empty());  // NOLINT(bugprone-use-after-move): left empty, still usable
    in.append("again");
    EXPECT_EQ(in.view(), "again");

    small_buffer<8> big;
    big.append(std::string(100, 'x'));
    const char* block = big.data();
    small_buffer<8> taken;
    taken.append("old bytes, on the heap");
    taken = std::move(big);
    EXPECT_EQ(taken.data(), block) << "the heap block itself, not a copy";
    EXPECT_EQ(taken.view(), std::string(100, 'x'));
    EXPECT_TRUE(big.empty());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(big.is_inline());
    big.append("12345678");
    EXPECT_TRUE(big.is_inline()) << "its inline space is its own again";

    small_buffer<8> back;
    back.append("z");
    back = std::move(in);  // inline onto inline
    EXPECT_EQ(back.view(), "again");
}

TEST(SmallBuffer, CopiesAreIndependent) {
    small_buffer<4> a;
    a.append("abcdef");  // heap
    small_buffer<4> b(a);
    b.push_back('g');
    EXPECT_EQ(a.view(), "abcdef");
    EXPECT_EQ(b.view(), "abcdefg");
    EXPECT_NE(a.data(), b.data());
    small_buffer<4> c;
    c.append("q");
    c = a;
    EXPECT_EQ(c.view(), "abcdef");
}

TEST(SmallBuffer, TruncateAndResizeKeepThePrefix) {
    small_buffer<4> b;
    b.append("abcdef");
    b.truncate(3);
    EXPECT_EQ(b.view(), "abc");
    b.truncate(10);  // not longer: truncate only shortens
    EXPECT_EQ(b.view(), "abc");
    b.resize(40);  // grows; the new bytes are the caller's to write
    EXPECT_EQ(b.size(), 40u);
    EXPECT_EQ(b.view().substr(0, 3), "abc");
    b.data()[39] = '!';
    EXPECT_EQ(b.view().back(), '!');
    b.resize(2);
    EXPECT_EQ(b.view(), "ab");
    b.reserve(1000);
    EXPECT_GE(b.capacity(), 1000u);
    EXPECT_EQ(b.view(), "ab");
}

}  // namespace
