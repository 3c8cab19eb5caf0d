// path_index: the file cache's table of paths (open addressing, backward-shift deletion),
// checked against std::unordered_map through long runs of random sets, finds and erases, and
// its hash over keys of every length around its 8-byte reads.
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "http/path_index.h"

namespace {

using medusa::http::path_index;

TEST(PathIndex, FindSetEraseAsAMapDoes) {
    path_index<int> idx;
    EXPECT_EQ(idx.find("/a"), nullptr);
    EXPECT_FALSE(idx.erase("/a"));
    const std::string a = "/a", b = "/b/c.html";
    idx.set(a, 1);
    idx.set(b, 2);
    ASSERT_NE(idx.find("/a"), nullptr);
    EXPECT_EQ(*idx.find("/a"), 1);
    EXPECT_EQ(*idx.find("/b/c.html"), 2);
    EXPECT_EQ(idx.find("/b/c.htm"), nullptr);
    EXPECT_EQ(idx.find(""), nullptr);
    idx.set(a, 3);  // replaces
    EXPECT_EQ(*idx.find("/a"), 3);
    EXPECT_EQ(idx.size(), 2u);
    EXPECT_TRUE(idx.erase("/a"));
    EXPECT_EQ(idx.find("/a"), nullptr);
    EXPECT_EQ(*idx.find("/b/c.html"), 2);
    idx.clear();
    EXPECT_TRUE(idx.empty());
    EXPECT_EQ(idx.find("/b/c.html"), nullptr);
}

TEST(PathIndex, RandomRunsAgreeWithUnorderedMap) {
    // Keys from a small set (so sets replace and erases hit), of lengths 0-40, many sharing
    // prefixes; the table grows through several sizes and runs of probes wrap around its end.
    std::mt19937 rng(12345);
    std::vector<std::string> keys;
    for (int i = 0; i < 600; ++i) {
        std::string k = "/dir" + std::to_string(i % 7) + "/";
        k += std::string(size_t(rng() % 30), char('a' + i % 26));
        k += std::to_string(i);
        if (i % 50 == 0) k = k.substr(0, size_t(rng() % 4));  // short ones, and ""
        keys.push_back(k);
    }
    path_index<int> idx;
    std::unordered_map<std::string, int> ref;
    for (int step = 0; step < 200000; ++step) {
        const std::string& k = keys[rng() % keys.size()];
        switch (rng() % 3) {
            case 0: {
                int v = int(rng() % 1000);
                idx.set(k, v);  // (the keys vector keeps the bytes alive)
                ref[k] = v;
                break;
            }
            case 1:
                ASSERT_EQ(idx.erase(k), ref.erase(k) == 1) << step;
                break;
            default: {
                int* got = idx.find(k);
                auto want = ref.find(k);
                ASSERT_EQ(got != nullptr, want != ref.end()) << step << " " << k;
                if (got) {
                    ASSERT_EQ(*got, want->second) << step;
                }
            }
        }
        ASSERT_EQ(idx.size(), ref.size());
    }
    // Every key still answers as the map does, after all that.
    for (const std::string& k : keys) {
        int* got = idx.find(k);
        auto want = ref.find(k);
        ASSERT_EQ(got != nullptr, want != ref.end()) << k;
        if (got) {
            EXPECT_EQ(*got, want->second);
        }
    }
}

TEST(PathIndex, HashSeesEveryByteOfEveryLength) {
    // Changing any one byte of a key of any length 1-40 changes its hash (in these runs), and
    // keys that differ only in length differ: the partial last word is read whole.
    for (size_t len = 1; len <= 40; ++len) {
        std::string k(len, 'x');
        const uint64_t base = path_index<int>::hash(k);
        for (size_t i = 0; i < len; ++i) {
            std::string m = k;
            m[i] = 'y';
            EXPECT_NE(path_index<int>::hash(m), base) << len << " " << i;
        }
        EXPECT_NE(path_index<int>::hash(std::string(len + 1, 'x')), base) << len;
    }
    EXPECT_NE(path_index<int>::hash(""), path_index<int>::hash(std::string(1, '\0')));
}

}  // namespace
