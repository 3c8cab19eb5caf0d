// header_list: reply headers kept as their wire bytes, in order, set/add/get/remove by a
// case-insensitive name, with the index kept right through edits that change lengths.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/header_list.h"

namespace {

using medusa::http::header_list;

TEST(HeaderList, TextIsTheHeaderBlockInOrder) {
    header_list h;
    h.add("Server", "Medusa/1.12");
    h.add("Date", "Tue, 01 Dec 2026 10:00:00 GMT");
    h.set("Content-Length", "128");
    EXPECT_EQ(h.text(),
              "Server: Medusa/1.12\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
              "Content-Length: 128\r\n");
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[1].name, "Date");
    EXPECT_EQ(h[2].value, "128");
}

TEST(HeaderList, SetReplacesTheFirstInPlaceWhateverTheLength) {
    header_list h;
    h.add("A", "1");
    h.add("Content-Type", "text/plain");
    h.add("content-type", "second");
    h.add("Z", "last");
    h.set("CONTENT-TYPE", "application/octet-stream");  // longer: what follows moves
    EXPECT_EQ(h.text(),
              "A: 1\r\nContent-Type: application/octet-stream\r\ncontent-type: second\r\nZ: last\r\n");
    h.set("content-TYPE", "x");  // shorter
    EXPECT_EQ(h.get("Z"), "last");
    EXPECT_EQ(h.get("content-type"), "x");  // the first of that name answers
    EXPECT_EQ(h[2].value, "second");
    EXPECT_EQ(h.text(), "A: 1\r\nContent-Type: x\r\ncontent-type: second\r\nZ: last\r\n");
    EXPECT_FALSE(h.get("Content-Typ").has_value());
    EXPECT_FALSE(h.get("Bontent-Type").has_value());  // same length and key letter differs
    EXPECT_FALSE(h.get("").has_value());
}

TEST(HeaderList, PrependPutsAnotherListsLinesFirst) {
    header_list front;
    front.add("Server", "Medusa/1.12");
    front.add("Date", "Tue, 01 Dec 2026 10:00:00 GMT");
    header_list h;
    h.prepend(front);  // onto an empty list
    EXPECT_EQ(h.text(), front.text());
    header_list g;
    g.add("Content-Length", "128");
    g.add("Set-Cookie", "a=1");
    g.add("Set-Cookie", "b=2");
    EXPECT_FALSE(g.may_have("Server"));
    g.prepend(front);
    EXPECT_EQ(g.text(),
              "Server: Medusa/1.12\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
              "Content-Length: 128\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n");
    ASSERT_EQ(g.size(), 5u);
    // The index follows the moved bytes: every line reads right, and edits still work.
    EXPECT_EQ(g[0].name, "Server");
    EXPECT_EQ(g[1].value, "Tue, 01 Dec 2026 10:00:00 GMT");
    EXPECT_EQ(g[2].value, "128");
    EXPECT_EQ(g[4].value, "b=2");
    EXPECT_TRUE(g.may_have("Server"));
    EXPECT_EQ(g.get("date"), "Tue, 01 Dec 2026 10:00:00 GMT");
    g.set("Server", "x");
    EXPECT_EQ(g.get("Content-Length"), "128");
    EXPECT_TRUE(g.remove("Set-Cookie", std::string_view("a=1")));
    EXPECT_EQ(g.text(),
              "Server: x\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 128\r\n"
              "Set-Cookie: b=2\r\n");
    header_list empty;
    g.prepend(empty);
    EXPECT_EQ(g.size(), 4u);
    // Past the inline room: the bytes move to the heap, the lines still read right.
    header_list big;
    big.add("X-Long", std::string(300, 'v'));
    big.prepend(front);
    EXPECT_EQ(big[2].value, std::string(300, 'v'));
    EXPECT_EQ(big[0].value, "Medusa/1.12");
}

TEST(HeaderList, RemoveByNameOrByValue) {
    header_list h;
    h.add("Set-Cookie", "a=1");
    h.add("Server", "s");
    h.add("set-cookie", "b=2");
    h.add("Set-Cookie", "a=1");
    EXPECT_TRUE(h.remove("SET-COOKIE", std::string_view("a=1")));
    EXPECT_EQ(h.text(), "Server: s\r\nset-cookie: b=2\r\n");
    EXPECT_FALSE(h.remove("Set-Cookie", std::string_view("zzz")));
    EXPECT_TRUE(h.remove("Set-Cookie"));
    EXPECT_EQ(h.text(), "Server: s\r\n");
    EXPECT_EQ(h.get("Server"), "s");
    h.add("Date", "d");
    EXPECT_EQ(h[1].name, "Date");
    h.clear();
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.text(), "");
}

TEST(HeaderList, ManyHeadersAndEmptyValues) {
    header_list h;
    for (int i = 0; i < 40; ++i) h.add("X-" + std::to_string(i), i % 2 ? "" : std::to_string(i));
    ASSERT_EQ(h.size(), 40u);
    EXPECT_EQ(h.get("X-39"), "");
    EXPECT_EQ(h.get("x-38"), "38");
    h.set("X-0", std::string(1000, 'v'));
    EXPECT_EQ(h.get("X-39"), "");
    EXPECT_EQ(h.get("X-38"), "38");
    EXPECT_EQ(h[0].value.size(), 1000u);
}

TEST(HeaderList, AddingAViewOfItsOwnBytes) {
    header_list h;
    h.add("Location", std::string(300, 'l'));  // past any first reservation: add() reallocates
    h.add("Content-Location", *h.get("Location"));
    h.set("X-Copy", *h.get("Content-Location"));
    EXPECT_EQ(h.get("Content-Location"), std::string(300, 'l'));
    EXPECT_EQ(h.get("X-Copy"), std::string(300, 'l'));
    h.add(h[0].name, "again");  // the name, too
    EXPECT_EQ(h[3].name, "Location");
    EXPECT_EQ(h[3].value, "again");
}

TEST(HeaderList, EveryNameIsFoundWhateverItsHashBitAndAfterRemovals) {
    // Lookups skip the lines when a name's bit is not in the list's mask: names that share a
    // bit (Server and Connection do), names of every length, and the mask after a removal or
    // a clear must all still answer right.
    header_list h;
    std::vector<std::string> names;
    for (int len = 1; len <= 40; ++len) names.push_back(std::string(size_t(len), char('a' + len % 26)));
    names.push_back("Server");
    names.push_back("Connection");
    for (const auto& n : names) {
        EXPECT_FALSE(h.get(n)) << n << " before it was added";
        h.set(n, "v-" + n);
    }
    for (const auto& n : names) {
        auto v = h.get(n);
        ASSERT_TRUE(v) << n;
        EXPECT_EQ(*v, "v-" + n);
    }
    EXPECT_EQ(h.size(), names.size()) << "set() of a new name adds it; none replaced another";
    ASSERT_TRUE(h.remove("Server"));
    EXPECT_FALSE(h.get("Server"));
    EXPECT_EQ(h.get("CONNECTION").value_or(""), "v-Connection") << "its bit-mate is still there";
    h.clear();
    for (const auto& n : names) EXPECT_FALSE(h.get(n)) << n << " after clear()";
    h.add("Connection", "close");
    EXPECT_EQ(h.get("connection").value_or(""), "close");
}

TEST(HeaderList, AddOfItsOwnNameAndValueWhileTheBufferMoves) {
    // A name and a value that view the list's own bytes, added when the add makes the buffer
    // move (inline to heap, then heap to a larger heap): both must be copied first. Under ASan a
    // view of the freed heap buffer would be reported.
    header_list h;
    h.add("X-Long", std::string(240, 'x'));
    h.add("X-Copy", *h.get("X-Long"));  // 256+ bytes: the lines leave the inline room
    EXPECT_EQ(h.get("X-Copy").value_or(""), std::string(240, 'x'));
    h.add(h[0].name, *h.get("X-Copy"));  // 500+ bytes: the heap buffer is replaced
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[2].name, "X-Long");
    EXPECT_EQ(h[2].value, std::string(240, 'x'));
    h.add(h[1].name, std::string(2000, 'y'));  // the name alone views the old buffer
    EXPECT_EQ(h[3].name, "X-Copy");
    EXPECT_EQ(h[3].value.size(), 2000u);
}


TEST(HeaderList, AssignCopiesAnotherListWhole) {
    header_list prepared, h;
    prepared.add("Server", "Medusa/1.12");
    prepared.add("Date", "Thu, 03 Dec 2026 05:00:00 GMT");
    h.add("X-Old", "gone");
    h.assign(prepared);
    EXPECT_EQ(h.text(), "Server: Medusa/1.12\r\nDate: Thu, 03 Dec 2026 05:00:00 GMT\r\n");
    EXPECT_EQ(h.get("date"), "Thu, 03 Dec 2026 05:00:00 GMT");
    EXPECT_EQ(h.get("X-Old"), std::nullopt);
    h.set("Server", "other");  // the copy is its own: the prepared list does not change
    EXPECT_EQ(prepared.get("Server"), "Medusa/1.12");
}

TEST(HeaderList, SetFromAnotherListAppendsOrReplacesByName) {
    header_list file;
    file.add("Last-Modified", "Thu, 03 Dec 2026 05:00:00 GMT");
    file.add("Content-Length", "128");
    file.add("Content-Type", "text/plain");
    // None of its names present: appended in its order, every line found by name afterwards.
    header_list h;
    h.add("Server", "s");
    h.set(file);
    EXPECT_EQ(h.text(),
              "Server: s\r\nLast-Modified: Thu, 03 Dec 2026 05:00:00 GMT\r\n"
              "Content-Length: 128\r\nContent-Type: text/plain\r\n");
    EXPECT_EQ(h.get("content-length"), "128");
    EXPECT_EQ(h.get("Content-Type"), "text/plain");
    EXPECT_EQ(h.size(), 4u);
    // One of them present already: that one is replaced where it stands, the others added.
    header_list g;
    g.add("Content-Type", "text/html");
    g.add("X", "y");
    g.set(file);
    EXPECT_EQ(g.text(),
              "Content-Type: text/plain\r\nX: y\r\nLast-Modified: Thu, 03 Dec 2026 05:00:00 "
              "GMT\r\nContent-Length: 128\r\n");
    // Past the inline bytes: the appended lines move with the buffer.
    header_list big;
    for (int i = 0; i < 20; ++i) big.add("X-Filler-" + std::to_string(i), std::string(20, 'f'));
    big.set(file);
    EXPECT_EQ(big.get("Content-Length"), "128");
    EXPECT_EQ(big.size(), 23u);
    EXPECT_TRUE(big.text().ends_with("Content-Type: text/plain\r\n"));
}

}  // namespace
