// Producers: each one's more() pieces, byte for byte. The expected pieces were produced by
// medusa's own producers.py (supervisor's copy of medusa 0.5.4) on the same inputs.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/producers.h"

namespace {

using medusa::producer;
using medusa::producer_ptr;
using pieces = std::vector<std::string>;

// Every piece until the first empty one (the end, for a producer that never stalls).
pieces all_pieces(producer& p, size_t limit = 100000) {
    pieces r;
    for (size_t i = 0; i < limit; ++i) {
        std::string d = p.more();
        if (d.empty()) break;
        r.push_back(std::move(d));
    }
    return r;
}

std::string joined(const pieces& ps) {
    std::string s;
    for (const auto& p : ps) s += p;
    return s;
}

std::string hex(const std::string& s) {
    static const char* digits = "0123456789abcdef";
    std::string r;
    for (unsigned char c : s) {
        r += digits[c >> 4];
        r += digits[c & 15];
    }
    return r;
}

producer_ptr simple(std::string s, size_t n = 1024) {
    return std::make_unique<medusa::simple_producer>(std::move(s), n);
}

// A temporary file holding `data`, opened for reading; the path is unlinked at once.
int temp_file(const std::string& data) {
    char name[] = "/tmp/medusa-producers-XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::unlink(name);
    EXPECT_EQ(::write(fd, data.data(), data.size()), ssize_t(data.size()));
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A producer that has nothing until it is given something (a thread still working).
class gate_producer : public producer {
public:
    std::string more() override { return std::exchange(data, {}); }
    bool ready() const override { return !data.empty() || done; }
    std::string data;
    bool done = false;
};

TEST(Producers, SimpleSlicesByBufferSize) {
    medusa::simple_producer p("abcdefghij", 4);
    EXPECT_EQ(all_pieces(p), (pieces{"abcd", "efgh", "ij"}));
    EXPECT_EQ(p.more(), "");  // and on every call after the end
}

TEST(Producers, SimpleDefaultBufferIs1024) {
    medusa::simple_producer p(std::string(2500, 'a'));
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 3u);
    EXPECT_EQ(ps[0].size(), 1024u);
    EXPECT_EQ(ps[2].size(), 452u);
}

TEST(Producers, ScanningSameAsSimple) {
    medusa::scanning_producer p("abcdefghij", 4);
    EXPECT_EQ(all_pieces(p), (pieces{"abcd", "efgh", "ij"}));
}

TEST(Producers, LinesFiftyPerMoreWithCrlf) {
    std::vector<std::string> lines;
    for (int i = 0; i < 120; ++i) lines.push_back("line" + std::to_string(i));
    medusa::lines_producer p(lines);
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 3u);
    EXPECT_EQ(ps[0].size(), 390u);
    EXPECT_EQ(ps[1].size(), 400u);
    EXPECT_EQ(ps[2],
              "line100\r\nline101\r\nline102\r\nline103\r\nline104\r\nline105\r\nline106\r\n"
              "line107\r\nline108\r\nline109\r\nline110\r\nline111\r\nline112\r\nline113\r\n"
              "line114\r\nline115\r\nline116\r\nline117\r\nline118\r\nline119\r\n");
    medusa::lines_producer empty({});
    EXPECT_EQ(empty.more(), "");
}

TEST(Producers, BufferListOnePerMore) {
    medusa::buffer_list_producer p({"ab", "cde", "f"});
    EXPECT_EQ(all_pieces(p), (pieces{"ab", "cde", "f"}));
}

TEST(Producers, BufferListSkipsEmptyBuffers) {
    // medusa would stop at the empty buffer and lose "f" (see producers.cc).
    medusa::buffer_list_producer p({"ab", "", "f"});
    EXPECT_EQ(all_pieces(p), (pieces{"ab", "f"}));
}

TEST(Producers, OutputTurnsLfIntoCrlfIn512BytePieces) {
    medusa::output_producer p;
    p.write("a\nb\r\nc");
    p.writeline("d");
    p.writelines({"e", "f"});
    p.write(std::string(600, 'x'));
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(ps[0].size(), 512u);
    EXPECT_EQ(ps[1].size(), 105u);
    EXPECT_EQ(ps[0].substr(0, 30), "a\r\nb\r\r\ncd\r\ne\r\nf\r\nxxxxxxxxxxxxx");
    // Written after it ran dry: produced again.
    p.writeline("again");
    EXPECT_EQ(p.more(), "again\r\n");
    EXPECT_EQ(p.more(), "");
}

TEST(Producers, CompositeEachInTurn) {
    std::vector<producer_ptr> v;
    v.push_back(simple("hello ", 2));
    v.push_back(simple("world", 10));
    medusa::composite_producer p(std::move(v));
    EXPECT_EQ(all_pieces(p), (pieces{"he", "ll", "o ", "world"}));
}

TEST(Producers, GlobbingGathersToBufferSize) {
    medusa::globbing_producer p(simple(std::string(10, 'x'), 3), 7);
    EXPECT_EQ(all_pieces(p), (pieces{"xxxxxxxxx", "x"}));
}

TEST(Producers, HookedCallsFunctionOnceWithByteCount) {
    std::vector<uint64_t> calls;
    medusa::hooked_producer p(simple("abcde", 2), [&](uint64_t n) { calls.push_back(n); });
    EXPECT_EQ(all_pieces(p), (pieces{"ab", "cd", "e"}));
    EXPECT_EQ(calls, std::vector<uint64_t>{5});
    EXPECT_EQ(p.more(), "");
    EXPECT_EQ(p.more(), "");
    EXPECT_EQ(calls, std::vector<uint64_t>{5});
}

TEST(Producers, ChunkedFramesEachPiece) {
    medusa::chunked_producer p(simple("hello world", 4));
    EXPECT_EQ(all_pieces(p),
              (pieces{"4\r\nhell\r\n", "4\r\no wo\r\n", "3\r\nrld\r\n", "0\r\n\r\n"}));
    EXPECT_EQ(p.more(), "");
}

TEST(Producers, ChunkedFooters) {
    medusa::chunked_producer p(simple("abc", 4), {"X-A: 1", "X-B: 2"});
    EXPECT_EQ(all_pieces(p), (pieces{"3\r\nabc\r\n", "0\r\nX-A: 1\r\nX-B: 2\r\n\r\n"}));
}

TEST(Producers, ChunkedSizeIsLowerCaseHex) {
    medusa::chunked_producer p(simple(std::string(0xabc, 'z'), 0x10000));
    EXPECT_EQ(p.more().substr(0, 5), "abc\r\n");
}

TEST(Producers, CompressedMatchesZlibCompressobj) {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "hello world ";
    medusa::compressed_producer p(simple(text, 64), 5);
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(hex(ps[0]), "785e");
    EXPECT_EQ(hex(ps[1]), "cb48cdc9c95728cf2fca4951c818658fb247d9a3ec41cc0600aea4c080");

    medusa::compressed_producer q(simple("abc", 64), 9);
    ps = all_pieces(q);
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(hex(ps[0]), "78da");
    EXPECT_EQ(hex(ps[1]), "4b4c4a0600024d0127");
}

TEST(Producers, EscapingAcrossPieces) {
    medusa::escaping_producer p(std::make_unique<medusa::buffer_list_producer>(
        std::vector<std::string>{"a\r\n.b\r", "\n.c\r\n", ".d..\r\n."}));
    EXPECT_EQ(all_pieces(p), (pieces{"a\r\n..b", "\r\n..c", "\r\n..d..\r\n.."}));
}

TEST(Producers, EscapingEverySplitGivesSameBytes) {
    const std::string in = "x\r\n.\r\n..\r\n.y\r\n";
    const std::string want = "x\r\n..\r\n...\r\n..y\r\n";
    for (size_t i = 0; i <= in.size(); ++i) {
        for (size_t j = i; j <= in.size(); ++j) {
            medusa::escaping_producer p(std::make_unique<medusa::buffer_list_producer>(
                std::vector<std::string>{in.substr(0, i), in.substr(i, j - i), in.substr(j)}));
            EXPECT_EQ(joined(all_pieces(p)), want) << "split at " << i << "," << j;
        }
    }
}

TEST(Producers, EscapingKeepsTrailingPartialMatch) {
    // A stream that ends in "\r\n" (a prefix of esc_from): medusa would hold it back forever.
    medusa::escaping_producer p(simple("end\r\n", 3));
    EXPECT_EQ(joined(all_pieces(p)), "end\r\n");
}

TEST(Producers, FileReads64KiBAndClosesAtEof) {
    std::string data(200000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
    int fd = temp_file(data);
    medusa::file_producer p(fd);
    EXPECT_EQ(p.sendfile_source(), nullptr);  // unknown length: no sendfile
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 4u);
    EXPECT_EQ(ps[0].size(), 65536u);
    EXPECT_EQ(ps[3].size(), 200000u - 3 * 65536u);
    EXPECT_EQ(joined(ps), data);
    EXPECT_FALSE(fd_open(fd));
    EXPECT_EQ(p.more(), "");
}

TEST(Producers, FileRangeBySendfileSourceThenMore) {
    std::string data = "0123456789abcdefghij";
    int fd = temp_file(data);
    medusa::file_producer p(fd, 5, 10);  // "56789abcde"
    const producer::file_range* r = p.sendfile_source();
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->fd, fd);
    EXPECT_EQ(r->offset, 5);
    EXPECT_EQ(r->length, 10u);
    p.consumed(4);  // the channel sent "5678"
    ASSERT_NE(p.sendfile_source(), nullptr);
    EXPECT_EQ(p.sendfile_source()->offset, 9);
    EXPECT_EQ(p.more(), "9abcde");  // the rest, copied
    EXPECT_EQ(p.sendfile_source(), nullptr);
    EXPECT_EQ(p.more(), "");
    EXPECT_FALSE(fd_open(fd));
}

TEST(Producers, FileClosedWhenRangeFullySent) {
    int fd = temp_file("hello");
    {
        medusa::file_producer p(fd, 0, 5);
        p.consumed(5);
        EXPECT_EQ(p.sendfile_source(), nullptr);
        EXPECT_FALSE(fd_open(fd));
        EXPECT_EQ(p.more(), "");
    }
    int fd2 = temp_file("hello");
    { medusa::file_producer p(fd2, 0, 5); }  // destroyed unsent: still closed
    EXPECT_FALSE(fd_open(fd2));
}

TEST(Producers, FileWithOffsetAndUnknownLength) {
    int fd = temp_file("0123456789");
    medusa::file_producer p(fd, 7);
    EXPECT_EQ(joined(all_pieces(p)), "789");
}

TEST(Producers, CompositeStopsAtFileRangeForSendfile) {
    int fd = temp_file("BODY");
    std::vector<producer_ptr> v;
    v.push_back(simple("HEAD:"));
    v.push_back(std::make_unique<medusa::file_producer>(fd, 0, 4));
    medusa::composite_producer p(std::move(v));
    EXPECT_EQ(p.sendfile_source(), nullptr);
    EXPECT_EQ(p.more(), "HEAD:");
    // The header is exhausted and a file range is next: empty, but not finished.
    EXPECT_EQ(p.more(), "");
    ASSERT_NE(p.sendfile_source(), nullptr);
    EXPECT_EQ(p.sendfile_source()->length, 4u);
    p.consumed(4);
    EXPECT_EQ(p.more(), "");
    EXPECT_EQ(p.sendfile_source(), nullptr);
    EXPECT_FALSE(fd_open(fd));
}

TEST(Producers, ChunkedOfCompositeWithFileCopiesTheFile) {
    // chunked must transform the bytes, so it reads the file range through more().
    int fd = temp_file("BODY");
    std::vector<producer_ptr> v;
    v.push_back(simple("ab"));
    v.push_back(std::make_unique<medusa::file_producer>(fd, 0, 4));
    medusa::chunked_producer p(std::make_unique<medusa::composite_producer>(std::move(v)));
    EXPECT_EQ(all_pieces(p), (pieces{"2\r\nab\r\n", "4\r\nBODY\r\n", "0\r\n\r\n"}));
}

TEST(Producers, HookedCountsBytesSentBySendfile) {
    int fd = temp_file("0123456789");
    uint64_t seen = 0;
    int calls = 0;
    medusa::hooked_producer p(std::make_unique<medusa::file_producer>(fd, 0, 10), [&](uint64_t n) {
        seen = n;
        ++calls;
    });
    ASSERT_NE(p.sendfile_source(), nullptr);
    p.consumed(6);
    EXPECT_EQ(p.more(), "6789");
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(p.more(), "");
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen, 10u);
}

TEST(Producers, StalledProducerIsNotFinished) {
    // A wrapper that sees an empty more() from a stalled producer must not end its output.
    auto gate = std::make_unique<gate_producer>();
    gate_producer* g = gate.get();
    int calls = 0;
    medusa::hooked_producer p(
        std::make_unique<medusa::chunked_producer>(std::move(gate)), [&](uint64_t) { ++calls; });
    EXPECT_FALSE(p.ready());
    g->data = "abc";
    EXPECT_TRUE(p.ready());
    EXPECT_EQ(p.more(), "3\r\nabc\r\n");
    EXPECT_FALSE(p.ready());
    EXPECT_EQ(calls, 0);
    g->done = true;
    EXPECT_EQ(p.more(), "0\r\n\r\n");
    EXPECT_EQ(p.more(), "");
    EXPECT_EQ(calls, 1);
}

TEST(Producers, CompositeWaitsForStalledMember) {
    auto gate = std::make_unique<gate_producer>();
    gate_producer* g = gate.get();
    std::vector<producer_ptr> v;
    v.push_back(simple("a"));
    v.push_back(std::move(gate));
    v.push_back(simple("c"));
    medusa::composite_producer p(std::move(v));
    EXPECT_EQ(p.more(), "a");
    EXPECT_EQ(p.more(), "");
    EXPECT_FALSE(p.ready());
    g->data = "b";
    g->done = true;
    EXPECT_EQ(all_pieces(p), (pieces{"b", "c"}));
}

// --- compositions -----------------------------------------------------------------------------------

TEST(Producers, HookedGlobbingCompositeChunked) {
    // hooked(globbing(composite(header, chunked(body)))), the pieces as medusa gives them.
    std::vector<producer_ptr> v;
    v.push_back(simple("HTTP/1.1 200 OK\r\n\r\n"));
    v.push_back(std::make_unique<medusa::chunked_producer>(simple(std::string(5000, 'x'), 1000)));
    uint64_t logged = 0;
    medusa::hooked_producer p(
        std::make_unique<medusa::globbing_producer>(
            std::make_unique<medusa::composite_producer>(std::move(v)), 4096),
        [&](uint64_t n) { logged = n; });
    pieces ps = all_pieces(p);
    ASSERT_EQ(ps.size(), 2u);
    EXPECT_EQ(ps[0].size(), 5054u);
    EXPECT_EQ(ps[1], "0\r\n\r\n");
    EXPECT_EQ(logged, 5059u);
    std::string all = joined(ps);
    EXPECT_EQ(all.substr(0, 24), "HTTP/1.1 200 OK\r\n\r\n3e8\r\n");
    std::string expected = "HTTP/1.1 200 OK\r\n\r\n";
    for (int i = 0; i < 5; ++i) expected += "3e8\r\n" + std::string(1000, 'x') + "\r\n";
    expected += "0\r\n\r\n";
    EXPECT_EQ(all, expected);
}

// Undo the chunked coding; fails the test on a malformed stream.
std::string unchunk(const std::string& s) {
    std::string out;
    size_t pos = 0;
    for (;;) {
        size_t eol = s.find("\r\n", pos);
        if (eol == std::string::npos) {
            ADD_FAILURE() << "no chunk size line at " << pos;
            return out;
        }
        size_t n = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
        pos = eol + 2;
        if (n == 0) {
            EXPECT_EQ(s.substr(pos), "\r\n");
            return out;
        }
        out += s.substr(pos, n);
        pos += n;
        EXPECT_EQ(s.substr(pos, 2), "\r\n");
        pos += 2;
    }
}

std::string inflate_all(const std::string& z) {
    z_stream s{};
    EXPECT_EQ(inflateInit(&s), Z_OK);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    s.avail_in = static_cast<uInt>(z.size());
    std::string out;
    char buf[16384];
    int rc;
    do {
        s.next_out = reinterpret_cast<Bytef*>(buf);
        s.avail_out = sizeof buf;
        rc = inflate(&s, Z_NO_FLUSH);
        EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
        out.append(buf, sizeof buf - s.avail_out);
    } while (rc == Z_OK);
    EXPECT_EQ(s.avail_in, 0u);
    inflateEnd(&s);
    return out;
}

TEST(Producers, ChunkedOfCompressedInflatesBack) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 7919 % 10007) + "\n";
    medusa::chunked_producer p(
        std::make_unique<medusa::compressed_producer>(simple(text, 1000), 6));
    std::string wire = joined(all_pieces(p));
    EXPECT_LT(wire.size(), text.size() / 2);
    EXPECT_EQ(inflate_all(unchunk(wire)), text);
}

TEST(Producers, ChunkedOfCompressedOfFile) {
    std::string text(300000, '\0');
    for (size_t i = 0; i < text.size(); ++i) text[i] = char("abcdefgh\n"[i * i % 9]);
    int fd = temp_file(text);
    medusa::chunked_producer p(std::make_unique<medusa::compressed_producer>(
        std::make_unique<medusa::file_producer>(fd, 0, int64_t(text.size()))));
    EXPECT_EQ(inflate_all(unchunk(joined(all_pieces(p)))), text);
    EXPECT_FALSE(fd_open(fd));
}

}  // namespace
