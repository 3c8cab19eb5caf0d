// What the io_uring backend adds to the poller contract (uring_poller.h): the kernel reads into
// a shared pool and sends copies in flight, so the cases here are the ones the other backends
// cannot have: the pool running dry, a close or a shutdown while a send is in flight, the bytes
// read ahead of a socket that leaves the loop. Every other suite of test/asyncore and test/http
// runs on this backend too (test/backends.h).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"
#include "asyncore/producers.h"
#include "asyncore/socket_map.h"
#include "asyncore/uring_poller.h"
#include "test/asyncore/async_chat_testutil.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {
namespace {

using medusa::backend;
using medusa::socket_map;
using medusa::uring_poller;

TEST(UringBackend, AvailableHere) {
    if (!medusa::backend_available(backend::uring)) {
        try {
            medusa::make_poller(backend::uring);
        } catch (const std::system_error& e) {
            GTEST_SKIP() << "io_uring refused on this machine (" << e.what()
                         << "): the uring cases of every suite are left out";
        }
    }
    socket_map m(backend::uring);
    EXPECT_EQ(m.kind(), backend::uring);
}

#define REQUIRE_URING()                                                                      \
    do {                                                                                     \
        if (!medusa::backend_available(backend::uring)) GTEST_SKIP() << "no io_uring here"; \
    } while (0)

// Reads nothing itself: what the backend read for it stays in the pool (for the test to take).
class idle_reader : public medusa::dispatcher {
public:
    idle_reader(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool writable() override { return false; }
    void handle_read() override { ++events; }
    int events = 0;
};

// n channels of type T, each on a socket pair whose other end has written "#i"; the other ends
// go to `peers`. Empty when the descriptors cannot be had (the caller skips).
template <class T>
std::vector<std::shared_ptr<T>> channels_with_bytes(socket_map& m, unsigned n, std::vector<int>& peers) {
    std::vector<std::shared_ptr<T>> channels;
    for (unsigned i = 0; i < n; ++i) {
        sock_pair p;
        if (p.a < 0) return {};
        p.put("#" + std::to_string(i));
        peers.push_back(std::exchange(p.b, -1));
        channels.push_back(medusa::make<T>(m, p.release_a()));
    }
    return channels;
}

template <class T>
bool every_one_told(const std::vector<std::shared_ptr<T>>& channels) {
    for (auto& c : channels)
        if (c->events == 0) return false;
    return true;
}

// Reads only from its second event on: until then, what the kernel delivered stays in the pool.
class hoarder : public medusa::dispatcher {
public:
    hoarder(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool writable() override { return false; }
    void handle_read() override {
        if (++events == 1) return;
        char buf[64];
        ssize_t n = recv(buf, sizeof buf);
        if (n > 0) data.append(buf, static_cast<size_t>(n));
    }
    int events = 0;
    std::string data;
};

TEST(UringBackend, WhenThePoolRunsDryTheRestAreReadWithTheSystemCall) {
    REQUIRE_URING();
    const unsigned n = uring_poller::pool_buffers + 20;
    nofile_limit limit;
    if (limit.saved().rlim_max < 2 * n + 64) GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is too low";
    ASSERT_TRUE(limit.set(2 * n + 64));
    socket_map m(backend::uring);
    std::vector<int> peers;
    auto channels = channels_with_bytes<hoarder>(m, n, peers);
    ASSERT_EQ(channels.size(), n);
    // Every channel is told once and keeps its bytes where they are: the pool's 512 buffers
    // hold the first ones, and the reads after them find the pool empty.
    ASSERT_TRUE(chat_test::pump(m, [&] { return every_one_told(channels); }));
    // Now they read: from the pool, or (the ones that found it empty) from the socket.
    ASSERT_TRUE(chat_test::pump(m, [&] {
        for (auto& c : channels)
            if (c->data.empty()) return false;
        return true;
    }));
    for (unsigned i = 0; i < n; ++i) EXPECT_EQ(channels[i]->data, "#" + std::to_string(i)) << i;
    medusa::close_all(m);
    for (int fd : peers) ::close(fd);
}

// Sends a reply and closes: the close comes while the last turn is still in the kernel's hands.
class closer : public medusa::async_chat {
public:
    closer(int fd, socket_map& m) : async_chat(fd, m) {}
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
};

TEST(UringBackend, AReplyPushedBeforeCloseArrivesWhole) {
    REQUIRE_URING();
    socket_map m(backend::uring);
    auto [fd, peer] = chat_test::tcp_pair();
    int small = 16384;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    auto ch = medusa::make<closer>(fd, m);
    std::string body(1 << 20, 'x');
    for (size_t i = 0; i < body.size(); i += 4093) body[i] = static_cast<char>('a' + i % 26);
    ch->push(body);
    ch->close_when_done();
    std::string got;
    bool open = true;
    ASSERT_TRUE(chat_test::pump(m, [&] {
        if (open) open = chat_test::read_some(peer, got);
        return !open;
    }, 10000ms));
    EXPECT_TRUE(ch->closed());
    EXPECT_EQ(got.size(), body.size());
    EXPECT_TRUE(got == body) << "the bytes differ";
    ::close(peer);
}

TEST(UringBackend, ShutdownWriteWaitsForTheSendInFlight) {
    REQUIRE_URING();
    socket_map m(backend::uring);
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<closer>(fd, m);
    ch->push("the whole reply");
    EXPECT_TRUE(ch->sending()) << "queued for the next pass, not yet in the kernel";
    EXPECT_FALSE(ch->output_empty());
    ch->shutdown_write();  // a FIN now would come before the reply, and the send would fail
    std::string got;
    bool open = true;
    ASSERT_TRUE(chat_test::pump(m, [&] {
        if (open) open = chat_test::read_some(peer, got);
        return !open;
    }));
    EXPECT_EQ(got, "the whole reply");
    EXPECT_FALSE(ch->sending());
    EXPECT_TRUE(ch->output_empty());
    medusa::close_all(m);
    ::close(peer);
}

TEST(UringBackend, BytesReadAheadGoWithASocketThatLeavesTheLoop) {
    REQUIRE_URING();
    socket_map m(backend::uring);
    sock_pair p;
    auto ch = medusa::make<idle_reader>(m, p.release_a());
    p.put("read ahead");
    ASSERT_TRUE(chat_test::pump(m, [&] { return ch->events > 0; }));
    EXPECT_EQ(ch->take_delivered_input(), "read ahead");
    EXPECT_EQ(ch->take_delivered_input(), "") << "taken once";
    // The read in flight was cancelled: what comes next stays in the socket for its new owner.
    ch->del_channel();
    p.put(" and after");
    m.poll_once(std::chrono::milliseconds(20));
    char buf[64];
    ssize_t n = ::recv(ch->fileno(), buf, sizeof buf, MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), " and after");
    ch->close();
}

TEST(UringBackend, HasDeliveredSaysWhetherTheRingHoldsBytesNotYetRead) {
    // What http_channel asks before it closes without lingering: bytes the kernel delivered to
    // the ring that the channel has not read yet.
    REQUIRE_URING();
    socket_map m(backend::uring);
    sock_pair p;
    auto ch = medusa::make<idle_reader>(m, p.release_a());
    uring_poller* r = m.ring_for(ch->fileno());
    ASSERT_NE(r, nullptr);
    m.poll_once(std::chrono::milliseconds(0));  // the read is armed
    EXPECT_FALSE(r->has_delivered(ch->fileno())) << "nothing has come";
    p.put("abc");
    ASSERT_TRUE(chat_test::pump(m, [&] { return ch->events > 0; }));
    EXPECT_TRUE(r->has_delivered(ch->fileno()));
    char buf[2];
    EXPECT_EQ(ch->recv(buf, 2), 2);
    EXPECT_TRUE(r->has_delivered(ch->fileno())) << "one byte is left";
    EXPECT_EQ(ch->recv(buf, 2), 1);
    EXPECT_FALSE(r->has_delivered(ch->fileno())) << "all taken";
    EXPECT_FALSE(r->has_delivered(-1));
    ch->close();
}

TEST(UringBackend, AsyncChatsTakeInBufferIncludesWhatTheBackendReadAhead) {
    REQUIRE_URING();
    socket_map m(backend::uring);
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<chat_test::recorder>(fd, m);
    ch->set_terminator("\n");
    chat_test::write_all(peer, "one\n");
    ASSERT_TRUE(chat_test::pump(m, [&] { return ch->records.size() == 1; }));
    m.poll_once(std::chrono::milliseconds(0));  // arms the next read
    // Paused (as a hand-off pauses): the read already in flight still lands, in the pool.
    ch->pause_reading();
    chat_test::write_all(peer, "two\nthree");
    for (int i = 0; i < 5; ++i) m.poll_once(std::chrono::milliseconds(10));
    EXPECT_EQ(ch->records.size(), 1u);
    EXPECT_EQ(ch->take_in_buffer(), "two\nthree");
    ch->close();
    ::close(peer);
}

// Counts the write events it is given while its file goes out through sendfile(2).
class file_sender : public medusa::async_chat {
public:
    file_sender(int fd, socket_map& m) : async_chat(fd, m) {}
    void collect_incoming_data(std::string_view) override {}
    void found_terminator() override {}
    void handle_write() override {
        ++writes;
        async_chat::handle_write();
    }
    int writes = 0;
};

// Sends an 8 MiB file to a peer that reads nothing for 30 passes of 10 ms, then everything.
// Returns the write events the channel was given in those 30 passes.
int writes_while_the_peer_does_not_read(backend b) {
    char path[] = "/tmp/medusa-uring-file-XXXXXX";
    int file = ::mkstemp(path);
    EXPECT_GE(file, 0);
    ::unlink(path);
    std::string body(8 << 20, 'f');
    EXPECT_EQ(::write(file, body.data(), body.size()), ssize_t(body.size()));
    socket_map m(b);
    auto [fd, peer] = chat_test::tcp_pair();
    int small = 65536;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    auto ch = medusa::make<file_sender>(fd, m);
    ch->push("HEAD\r\n");
    ch->push_with_producer(std::make_unique<medusa::file_producer>(file, 0, int64_t(body.size())));
    for (int i = 0; i < 30; ++i) m.poll_once(std::chrono::milliseconds(10));
    int writes = ch->writes;
    std::string got;
    EXPECT_TRUE(chat_test::pump(m, [&] {
        chat_test::read_some(peer, got);
        return got.size() >= body.size() + 6;
    }, 20000ms));
    EXPECT_TRUE(got == "HEAD\r\n" + body) << "got " << got.size() << " bytes";
    medusa::close_all(m);
    ::close(peer);
    return writes;
}

TEST(UringBackend, AFileToAPeerThatDoesNotReadWaitsForRoomInsteadOfSpinning) {
    REQUIRE_URING();
    // sendfile(2) soon finds the socket full; from then on only a poll for room may make the
    // channel writable again, as epoll would. (It was told writable on every pass before: 30
    // write events here, a busy loop outside a test.)
    int on_epoll = writes_while_the_peer_does_not_read(backend::epoll);
    int on_uring = writes_while_the_peer_does_not_read(backend::uring);
    EXPECT_LE(on_uring, on_epoll + 2) << "epoll gave " << on_epoll;
    EXPECT_LT(on_uring, 15);
}

TEST(UringBackend, AnEmptyPoolDoesNotWakeAnIdleConnection) {
    REQUIRE_URING();
    const unsigned n = uring_poller::pool_buffers;
    nofile_limit limit;
    if (limit.saved().rlim_max < 2 * n + 64) GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is too low";
    ASSERT_TRUE(limit.set(2 * n + 64));
    socket_map m(backend::uring);
    std::vector<int> peers;
    auto holders = channels_with_bytes<idle_reader>(m, n, peers);
    ASSERT_EQ(holders.size(), n);
    sock_pair quiet;
    auto idle = medusa::make<idle_reader>(m, quiet.release_a());
    ASSERT_TRUE(chat_test::pump(m, [&] { return every_one_told(holders); }));
    // Every pool buffer is held. The idle connection's read waits for bytes before it takes a
    // buffer, so it is not failed (and its channel told "readable") pass after pass.
    for (int i = 0; i < 10; ++i) m.poll_once(std::chrono::milliseconds(10));
    EXPECT_EQ(idle->events, 0);
    quiet.put("late");
    ASSERT_TRUE(chat_test::pump(m, [&] { return idle->events > 0; }));
    char buf[16];
    EXPECT_EQ(idle->recv(buf, sizeof buf), 4) << "read from the socket itself: the pool is empty";
    medusa::close_all(m);
    for (int fd : peers) ::close(fd);
}

TEST(UringBackend, LoopRunsUntilTheLastSendOfAClosedChannelHasGone) {
    REQUIRE_URING();
    socket_map m(backend::uring);
    auto [fd, peer] = chat_test::tcp_pair();
    int small = 16384;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    auto ch = medusa::make<closer>(fd, m);
    std::string body(200000, 'b');
    // Corked: the whole reply and the close are taken in one turn, so the channel is closed,
    // and the map empty, while the ring still has the reply in flight.
    ch->cork();
    ch->push(body);
    ch->close_when_done();
    ch->uncork();
    std::string got;
    m.call_every(std::chrono::milliseconds(2), [&] { chat_test::read_some(peer, got); });
    ASSERT_TRUE(run_bounded(m, 10000ms)) << "loop() did not return";
    while (chat_test::read_some(peer, got)) {
        if (got.size() >= body.size()) break;
    }
    EXPECT_EQ(got.size(), body.size());
    ::close(peer);
}

}  // namespace
}  // namespace medusa_test
