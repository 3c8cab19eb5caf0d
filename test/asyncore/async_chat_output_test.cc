// async_chat output: the queue of bytes, producers and the close marker; writev, sendfile,
// back-pressure, stalled producers and a peer that resets mid-reply. Loopback TCP, every backend.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/async_chat.h"
#include "asyncore/producers.h"
#include "test/asyncore/async_chat_testutil.h"
#include "test/asyncore/helpers.h"

namespace {

using namespace std::chrono_literals;
using chat_test::pump;
using chat_test::read_some;

using chat_test::replier;

void set_buffer(int fd, int opt, int size) { ::setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size); }

std::string pattern(size_t n, unsigned salt) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = char('a' + (i * 31 + salt) % 26);
    return s;
}

int temp_file(const std::string& data) {
    char name[] = "/tmp/medusa-chat-XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::unlink(name);
    EXPECT_EQ(::write(fd, data.data(), data.size()), ssize_t(data.size()));
    return fd;
}

// A file producer that counts its more() calls: 1 (the final empty one) means every byte of it
// went by sendfile(2).
class counting_file_producer : public medusa::file_producer {
public:
    counting_file_producer(int fd, int64_t length, int* calls)
        : file_producer(fd, 0, length), calls_(calls) {}
    std::string more() override {
        ++*calls_;
        return file_producer::more();
    }

private:
    int* calls_;
};

class gate_producer : public medusa::producer {
public:
    std::string more() override { return std::exchange(data, {}); }
    bool ready() const override { return !data.empty() || done; }
    std::string data;
    bool done = false;
};

class AsyncChatOutput : public ::testing::TestWithParam<medusa::backend> {};

TEST_P(AsyncChatOutput, CloseWhenDoneSendsEverythingFirst) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 16384);  // force many partial sends
    auto ch = medusa::make<replier>(fd, m);

    const std::string big = pattern(1 << 20, 1);
    const std::string file = pattern(300000, 7);
    int more_calls = 0;
    uint64_t hooked_bytes = 0;
    ch->push("HEADER\r\n");
    ch->push_with_producer(std::make_unique<medusa::simple_producer>(big, 65536));
    ch->push_with_producer(std::make_unique<medusa::hooked_producer>(
        std::make_unique<counting_file_producer>(temp_file(file), int64_t(file.size()),
                                                 &more_calls),
        [&](uint64_t n) { hooked_bytes = n; }));
    ch->push("TRAILER");
    ch->close_when_done();
    ch->push("never sent: queued after the close");

    std::string got;
    bool eof = pump(m, [&] { return !read_some(peer, got); }, 20000ms);
    ::close(peer);
    ASSERT_TRUE(eof) << "no EOF after " << got.size() << " bytes";
    EXPECT_EQ(got.size(), 8 + big.size() + file.size() + 7);
    EXPECT_TRUE(got == "HEADER\r\n" + big + file + "TRAILER") << "the bytes differ";
    EXPECT_EQ(more_calls, 1) << "the file went through more(), not sendfile";
    EXPECT_EQ(hooked_bytes, file.size());
    EXPECT_TRUE(ch->closed());
    EXPECT_TRUE(m.empty());
}

TEST_P(AsyncChatOutput, CorkedPushesWaitForUncorkThenLeaveTogether) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    const std::string file = pattern(50000, 3);
    int more_calls = 0;
    ch->cork();
    ch->push("HEAD\r\n");
    ch->cork();  // nested: only the outer uncork sends
    ch->push_with_producer(
        std::make_unique<counting_file_producer>(temp_file(file), int64_t(file.size()), &more_calls));
    ch->uncork();
    ch->push("TAIL");
    // Nothing has been sent while corked, even with the socket writable.
    std::string got;
    char byte;
    EXPECT_EQ(::recv(peer, &byte, 1, MSG_DONTWAIT), -1);
    EXPECT_FALSE(ch->output_empty());
    ch->uncork();
    ch->close_when_done();
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }, 20000ms));
    ::close(peer);
    EXPECT_TRUE(got == "HEAD\r\n" + file + "TAIL") << got.size() << " bytes";
    EXPECT_EQ(more_calls, 1) << "the file went through more(), not sendfile";
}

TEST_P(AsyncChatOutput, HttpShapedReplySendsTheFileBySendfile) {
    // http_request's shape: hooked(globbing(composite(header, file))). The header is copied, the
    // file range still reaches the channel and goes by sendfile(2).
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    const std::string file = pattern(200000, 9);
    int more_calls = 0;
    uint64_t logged = 0;
    std::vector<medusa::producer_ptr> parts;
    parts.push_back(std::make_unique<medusa::simple_producer>("HTTP/1.0 200 OK\r\n\r\n"));
    parts.push_back(
        std::make_unique<counting_file_producer>(temp_file(file), int64_t(file.size()), &more_calls));
    ch->push_with_producer(std::make_unique<medusa::hooked_producer>(
        std::make_unique<medusa::globbing_producer>(
            std::make_unique<medusa::composite_producer>(std::move(parts))),
        [&](uint64_t n) { logged = n; }));
    ch->close_when_done();
    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }, 20000ms));
    ::close(peer);
    EXPECT_TRUE(got == "HTTP/1.0 200 OK\r\n\r\n" + file);
    EXPECT_EQ(more_calls, 1) << "the file went through more(), not sendfile";
    EXPECT_EQ(logged, 19 + file.size());
}

TEST_P(AsyncChatOutput, StalledProducerHoldsTheQueue) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    auto gate = std::make_unique<gate_producer>();
    gate_producer* g = gate.get();
    ch->push("A");
    ch->push_with_producer(std::move(gate));
    ch->push("B");
    std::string got;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got == "A"; }));
    for (int i = 0; i < 3; ++i) m.poll_once(5ms);
    read_some(peer, got);
    EXPECT_EQ(got, "A");
    EXPECT_FALSE(ch->writable());
    EXPECT_FALSE(ch->output_empty());

    g->data = "gate";
    g->done = true;
    ch->update_interest();
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= 6; }));
    EXPECT_EQ(got, "AgateB");
    EXPECT_TRUE(ch->output_empty());
    ::close(peer);
}

TEST_P(AsyncChatOutput, BackPressureBoundsQueuedOutput) {
    // The peer pipelines 500 requests (2 MiB of replies) and reads nothing; each gets 4 KiB.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8192);
    auto ch = medusa::make<replier>(fd, m);
    ch->reply = pattern(4096, 3);
    ch->high_water_mark = 64 * 1024;
    ch->low_water_mark = 16 * 1024;
    const size_t bound = ch->high_water_mark + ch->reply.size();
    const int n = 500;
    std::string requests;
    for (int i = 0; i < n; ++i) requests += "q\r\n";
    chat_test::write_all(peer, requests);

    size_t max_pending = 0;
    auto watch = [&] { max_pending = std::max(max_pending, ch->pending_bytes()); };
    ASSERT_TRUE(pump(m, [&] { watch(); return !ch->readable(); }));
    for (int i = 0; i < 20; ++i) {
        m.poll_once(5ms);
        watch();
    }
    EXPECT_FALSE(ch->readable());
    EXPECT_LT(ch->requests, n) << "it answered everything without the peer reading";
    EXPECT_GT(ch->pending_bytes(), ch->low_water_mark);
    EXPECT_LE(max_pending, bound);

    // The peer reads: the channel drains, reads again, and answers every request in order.
    std::string got;
    bool all = pump(m, [&] {
        watch();
        read_some(peer, got);
        return got.size() >= size_t(n) * ch->reply.size();
    }, 30000ms);
    ASSERT_TRUE(all) << got.size() << " bytes, " << ch->requests << " requests, pending "
                     << ch->pending_bytes() << " readable " << ch->readable() << " writable "
                     << ch->writable() << " in " << ch->ac_in_buffer().size();
    EXPECT_EQ(ch->requests, n);
    EXPECT_EQ(got.size(), size_t(n) * ch->reply.size());
    EXPECT_LE(max_pending, bound);
    EXPECT_TRUE(ch->readable());
    ::close(peer);
}

TEST_P(AsyncChatOutput, PeerResetMidSendClosesTheChannel) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8192);
    auto ch = medusa::make<replier>(fd, m);
    ch->on_request = [](replier& r, const std::string&) {
        r.push_with_producer(std::make_unique<medusa::simple_producer>(pattern(8 << 20, 5), 65536));
    };
    // A second, healthy channel in the same loop.
    auto [fd2, peer2] = chat_test::tcp_pair();
    auto other = medusa::make<replier>(fd2, m);
    other->reply = "pong\n";

    chat_test::write_all(peer, "go\r\n");
    std::string got;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() > 0; }));
    linger lg{1, 0};  // close with RST
    ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(peer);
    ASSERT_TRUE(pump(m, [&] { return ch->closes > 0; }));
    EXPECT_EQ(ch->closes, 1);
    EXPECT_TRUE(ch->closed());
    EXPECT_TRUE(ch->output_empty());  // the 8 MiB producer was released

    chat_test::write_all(peer2, "ping\r\n");
    std::string got2;
    ASSERT_TRUE(pump(m, [&] { read_some(peer2, got2); return got2 == "pong\n"; }));
    EXPECT_EQ(m.size(), 1u);
    ::close(peer2);
}

TEST_P(AsyncChatOutput, ManySmallAndLargePushesArriveInOrder) {
    // Pushed while the peer is not reading: the queue is sent by gathered writes, many of them
    // partial, and every byte arrives once, in order.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8192);
    auto ch = medusa::make<replier>(fd, m);
    ch->high_water_mark = 64 << 20;
    std::string expected;
    for (int i = 0; i < 3000; ++i) {
        std::string piece = i % 3 == 0 ? pattern(700 + i % 50, i) : "piece " + std::to_string(i) + "\n";
        expected += piece;
        ch->push(piece);
    }
    for (int i = 0; i < 5; ++i) m.poll_once(2ms);
    std::string got;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= expected.size(); }, 20000ms));
    EXPECT_TRUE(got == expected);
    EXPECT_EQ(ch->pending_bytes(), 0u);
    ::close(peer);
}

TEST_P(AsyncChatOutput, APushWithNothingQueuedGoesOutAtOnceAndTheRestWaitsItsTurn) {
    // Nothing queued: the bytes reach the socket inside push(), before any loop pass (on
    // epoll, poll and select; io_uring sends with its next submission). Too many for the
    // socket: what it took is gone, the rest is queued and sent ahead of later pushes.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 16384);
    set_buffer(peer, SO_RCVBUF, 16384);
    auto ch = medusa::make<replier>(fd, m);
    ch->push(std::string("hello\r\n"));
    if (GetParam() != medusa::backend::uring) {
        EXPECT_EQ(ch->pending_bytes(), 0u);
        EXPECT_TRUE(ch->output_empty());
        std::string first;
        ASSERT_TRUE(pump(m, [&] { read_some(peer, first); return first.size() >= 7; }, 2000ms));
        EXPECT_EQ(first, "hello\r\n");
    }
    const std::string big = pattern(200000, 11), tail = "tail";
    ch->push(std::string(big));
    if (GetParam() != medusa::backend::uring) {
        EXPECT_GT(ch->pending_bytes(), 0u) << "200 KB cannot all go into 16 KiB buffers";
        EXPECT_LT(ch->pending_bytes(), big.size()) << "the socket took its share at once";
    }
    ch->push(std::string(tail));
    std::string got;
    const std::string expected = (GetParam() == medusa::backend::uring ? "hello\r\n" : "") + big + tail;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= expected.size(); }, 20000ms));
    EXPECT_TRUE(got == expected) << "got " << got.size() << " bytes";
    EXPECT_EQ(ch->pending_bytes(), 0u);
    ::close(peer);
}

// A channel made without a socket: bytes pushed before it has one wait in the queue and go out,
// in order, once it has connected.
class unconnected_chat : public medusa::async_chat {
public:
    explicit unconnected_chat(medusa::socket_map& m) : async_chat(m) {}
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
    using async_chat::connect;
    using async_chat::create_socket;
};

TEST_P(AsyncChatOutput, BytesPushedBeforeTheSocketExistsGoOutOnceConnected) {
    medusa::socket_map m(GetParam());
    sockaddr_in a;
    int lfd = chat_test::loopback_listener(a);
    auto ch = medusa::make<unconnected_chat>(m);
    ch->push(std::string("early\r\n"));
    EXPECT_EQ(ch->pending_bytes(), 7u) << "kept, not dropped, while there is no socket";
    ch->create_socket(AF_INET);
    ch->connect(medusa::address::inet("127.0.0.1", ntohs(a.sin_port)));
    ch->push(std::string("late\r\n"));
    int peer = -1;
    ASSERT_TRUE(pump(m, [&] {
        if (peer < 0) peer = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        return peer >= 0;
    }, 5000ms));
    std::string got;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= 13; }, 5000ms));
    EXPECT_EQ(got, "early\r\nlate\r\n");
    ::close(peer);
    ::close(lfd);
}

TEST_P(AsyncChatOutput, HookThatPushesAndClosesWhenDone) {
    // http_request's log hook runs inside more(); output it pushes goes after the producer's.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    replier* raw = ch.get();
    ch->push_with_producer(std::make_unique<medusa::hooked_producer>(
        std::make_unique<medusa::simple_producer>("body", 2), [raw](uint64_t n) {
            raw->push(" [" + std::to_string(n) + " bytes]");
            raw->close_when_done();
        }));
    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }));
    EXPECT_EQ(got, "body [4 bytes]");
    ::close(peer);
}

TEST_P(AsyncChatOutput, CloseReleasesQueuedFiles) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8192);
    auto ch = medusa::make<replier>(fd, m);
    ch->push("x");  // goes at once; then a file that never gets its turn
    ch->push_with_producer(std::make_unique<medusa::simple_producer>(pattern(16 << 20, 2)));
    int file = temp_file("data");
    ch->push_with_producer(std::make_unique<medusa::file_producer>(file, 0, 4));
    EXPECT_NE(::fcntl(file, F_GETFD), -1);
    ch->close();
    EXPECT_EQ(::fcntl(file, F_GETFD), -1);
    EXPECT_TRUE(ch->output_empty());
    ::close(peer);
}

TEST_P(AsyncChatOutput, EchoRoundTrip) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->on_request = [](replier& r, const std::string&) { r.push("ok\r\n"); };
    chat_test::write_all(peer, "a\r\nb\r\nc\r\n");
    std::string got;
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= 12; }));
    EXPECT_EQ(got, "ok\r\nok\r\nok\r\n");
    ::close(peer);
    ASSERT_TRUE(pump(m, [&] { return ch->closes > 0; }));
}

TEST_P(AsyncChatOutput, SharedBytesAreSentFromTheirOwnerInOrder) {
    // push(shared_ptr<const string>): bytes kept by someone else (a cached file's content) go out
    // in queue order between owned pieces, partial sends included, and the queue keeps them alive
    // until sent even when every other owner has let go.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 16384);  // force partial sends inside the shared piece
    auto ch = medusa::make<replier>(fd, m);
    auto body = std::make_shared<const std::string>(pattern(400000, 5));
    std::weak_ptr<const std::string> watch = body;
    ch->push("HEAD\r\n");
    ch->push(body);
    ch->push(std::shared_ptr<const std::string>());                   // null: ignored
    ch->push(std::make_shared<const std::string>());                   // empty: ignored
    ch->push("TAIL");
    const std::string expected = "HEAD\r\n" + *body + "TAIL";
    body.reset();
    EXPECT_FALSE(watch.expired()) << "the queue must keep the shared bytes alive";
    ch->close_when_done();
    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }, 20000ms));
    ::close(peer);
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected) << "the bytes differ";
    EXPECT_TRUE(watch.expired()) << "sent bytes are let go";
}

TEST_P(AsyncChatOutput, ALargeFileIsSentInTurnsThatLeaveRoomForOtherChannels) {
    // One initiate_send() sends a file range of at most 256 KiB, however much the socket would
    // take, then yields to the loop: a client fetching a large file does not hold it up.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8 << 20);
    set_buffer(peer, SO_RCVBUF, 8 << 20);
    auto ch = medusa::make<replier>(fd, m);
    const std::string data = pattern(2 << 20, 9);
    int file = temp_file(data);
    ch->push_with_producer(std::make_unique<medusa::file_producer>(file, 0, int64_t(data.size())));
    std::string got;
    read_some(peer, got);
    EXPECT_GT(got.size(), 0u);
    EXPECT_LE(got.size(), size_t(256 << 10)) << "one turn sent more than its budget";
    ASSERT_TRUE(pump(m, [&] { read_some(peer, got); return got.size() >= data.size(); }, 20000ms));
    EXPECT_TRUE(got == data);
    ::close(peer);
}

// Records when it is told, and what the peer had received by then.
class recording_hook : public medusa::send_hook {
public:
    void sent() override {
        ++calls;
        if (on_sent) on_sent();
    }
    int calls = 0;
    std::function<void()> on_sent;
};

TEST_P(AsyncChatOutput, HookIsToldOnceWhatCameBeforeItHasGone) {
    // push_hook: told once every byte pushed before it has been handed to the socket, partial
    // sends included, and not before; output it pushes from sent() goes after.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 16384);
    set_buffer(peer, SO_RCVBUF, 16384);  // so that 300 KB cannot all go at once
    auto ch = medusa::make<replier>(fd, m);
    replier* raw = ch.get();
    auto hook = std::make_shared<recording_hook>();
    const std::string body = pattern(300000, 7);
    hook->on_sent = [&] {
        EXPECT_EQ(raw->pending_bytes(), 0u) << "told before the bytes ahead of it had gone";
        raw->push("[logged]");
        raw->close_when_done();
    };
    ch->cork();
    ch->push("HEAD\r\n");
    ch->push(std::string(body));
    ch->push_hook(hook);
    ch->push_hook(nullptr);  // ignored
    ch->uncork();
    EXPECT_EQ(hook->calls, 0) << "300 KB cannot all go into 16 KiB socket buffers at once";
    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }, 20000ms));
    ::close(peer);
    EXPECT_EQ(hook->calls, 1);
    EXPECT_TRUE(got == "HEAD\r\n" + body + "[logged]") << "got " << got.size() << " bytes";
    EXPECT_EQ(hook.use_count(), 1) << "the queue let the hook go";
}

TEST_P(AsyncChatOutput, HookIsNotToldWhenTheChannelClosesFirst) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 8192);
    auto ch = medusa::make<replier>(fd, m);
    auto hook = std::make_shared<recording_hook>();
    ch->push(pattern(4 << 20, 3));  // cannot all go before the close
    ch->push_hook(hook);
    EXPECT_EQ(hook.use_count(), 2);
    ch->close();
    EXPECT_EQ(hook->calls, 0);
    EXPECT_EQ(hook.use_count(), 1) << "a closed channel keeps no hook";
    ::close(peer);
}

TEST_P(AsyncChatOutput, ShutdownWhenDoneHalfClosesAfterEverythingAndKeepsReading) {
    // The peer reads every byte pushed before shutdown_when_done(), then its end of file; the
    // channel stays open and still hears the peer, until the peer closes.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    set_buffer(fd, SO_SNDBUF, 16384);  // partial sends: the FIN waits for all of it
    auto ch = medusa::make<replier>(fd, m);
    const std::string body = pattern(300000, 5);
    ch->push("HEAD\r\n");
    ch->push(std::string(body));
    ch->shutdown_when_done();

    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); }, 20000ms)) << "no EOF";
    EXPECT_TRUE(got == "HEAD\r\n" + body) << "got " << got.size() << " bytes";
    EXPECT_FALSE(ch->closed()) << "a half-close is not a close";

    chat_test::write_all(peer, "after the FIN\r\n");
    ASSERT_TRUE(pump(m, [&] { return ch->requests == 1 || ch->closes > 0; }));
    EXPECT_EQ(ch->requests, 1) << "the channel still reads";
    ::close(peer);
    ASSERT_TRUE(pump(m, [&] { return ch->closes > 0; }));
}

TEST_P(AsyncChatOutput, AReplyEndedByAHalfCloseArrivesWithItsEndOfFile) {
    // The last bytes go with MSG_MORE and shutdown(2) sends them with the FIN: a peer that waits
    // for the reply finds the end of file behind it already (one segment, not two).
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->cork();
    ch->push("a short reply");
    ch->shutdown_when_done();
    ch->uncork();
    std::string got;
    ASSERT_TRUE(pump(m, [&] { return !read_some(peer, got); })) << "no EOF";
    EXPECT_EQ(got, "a short reply");
    // Output after the half-close cannot go: the socket refuses it, and the channel closes.
    ch->push("never sent");
    ASSERT_TRUE(pump(m, [&] { return ch->closes > 0; }));
    EXPECT_FALSE(read_some(peer, got));
    EXPECT_EQ(got, "a short reply");
    ::close(peer);
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncChatOutput, medusa_test::all_backends,
                         medusa_test::backend_name);

}  // namespace
