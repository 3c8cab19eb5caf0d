// chunked_decoder: de-chunking at every split point, and malformed bodies.
#include "http/chunked.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using medusa::http::chunked_decoder;

namespace {

struct result {
    std::string body;
    size_t used = 0;
    bool done = false, failed = false;
    bool operator==(const result&) const = default;
};

result decode(std::string_view in, std::vector<size_t> cuts = {}) {
    chunked_decoder d;
    result r;
    auto sink = [&](std::string_view s) {
        EXPECT_FALSE(s.empty());
        r.body.append(s);
    };
    size_t pos = 0;
    cuts.push_back(in.size());
    for (size_t cut : cuts) {
        if (cut < pos) continue;
        size_t n = d.feed(in.substr(pos, cut - pos), sink);
        r.used += n;
        pos += n;
        if (d.done() || d.failed()) break;
    }
    r.done = d.done();
    r.failed = d.failed();
    return r;
}

}  // namespace

TEST(chunked_decoder, decodes_and_stops_at_the_end) {
    std::string body = "1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\n123\r\n0\r\nTrailer: x\r\n\r\n";
    auto r = decode(body + "GET / HTTP/1.1\r\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "abcdefghijklmnopqrstuvwxyz123");
    EXPECT_EQ(r.used, body.size());
}

TEST(chunked_decoder, bare_lf_and_upper_case_hex) {
    auto r = decode("A\nabcdefghij\n0\n\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "abcdefghij");
}

TEST(chunked_decoder, every_split_point_gives_the_same_result) {
    std::string body = "5\r\nhello\r\n6 ; name=v\r\n world\r\n0\r\nA: b\r\n\r\nNEXT";
    auto whole = decode(body);
    ASSERT_TRUE(whole.done);
    EXPECT_EQ(whole.body, "hello world");
    for (size_t i = 0; i <= body.size(); ++i)
        for (size_t j = i; j <= body.size(); ++j) EXPECT_EQ(decode(body, {i, j}), whole) << i << "," << j;
}

TEST(chunked_decoder, bad_sizes_are_errors) {
    for (const char* bad : {"zz\r\n", "\r\n", "-5\r\n", "5x\r\nhello\r\n", "0x5\r\n",
                            "5\r\nhelloXX\r\n0\r\n\r\n", "fffffffffffffffffff\r\n"}) {
        auto r = decode(bad);
        EXPECT_TRUE(r.failed) << bad;
        EXPECT_FALSE(r.done) << bad;
    }
}

TEST(chunked_decoder, overlong_size_line_is_an_error) {
    chunked_decoder d(16);
    d.feed(std::string(40, '1'), [](std::string_view) {});
    EXPECT_TRUE(d.failed());
}

TEST(chunked_decoder, data_remaining_guides_count_framing) {
    chunked_decoder d;
    auto sink = [](std::string_view) {};
    d.feed("10\r\n", sink);
    EXPECT_EQ(d.data_remaining(), 16u);
    d.feed("0123456789", sink);
    EXPECT_EQ(d.data_remaining(), 6u);
    d.feed("abcdef", sink);
    EXPECT_EQ(d.data_remaining(), 0u);
    EXPECT_EQ(d.body_bytes(), 16u);
    EXPECT_FALSE(d.done());
}
