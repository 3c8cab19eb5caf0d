// async_chat's held replies: bytes a channel pushes while it handles its own read event wait
// until the read is done and then leave in one send(2); nothing else about the output changes
// (order, hooks, close, back-pressure). Loopback TCP, every backend: on io_uring nothing is held
// (the ring does the sends), and only what every backend must do is asserted there.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
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

// Bytes in the socket's send queue (SIOCOUTQ) plus bytes waiting to be read at the peer
// (FIONREAD): what has left the channel so far.
size_t bytes_gone(int fd, int peer) {
    int out = 0, in = 0;
    EXPECT_EQ(::ioctl(fd, SIOCOUTQ, &out), 0);
    EXPECT_EQ(::ioctl(peer, FIONREAD, &in), 0);
    return size_t(out) + size_t(in);
}

class recording_hook : public medusa::send_hook {
public:
    explicit recording_hook(std::function<void()> f) : f_(std::move(f)) {}
    void sent() override { f_(); }

private:
    std::function<void()> f_;
};

// A loopback pair whose peer end has a small receive buffer from the start (the window it
// advertises at the handshake), and whose channel end a small send buffer: tens of KB fill it.
std::pair<int, int> narrow_pair() {
    sockaddr_in a;
    int lfd = chat_test::loopback_listener(a);
    int peer = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int small = 4096;
    ::setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    EXPECT_EQ(medusa_test::connect_through_eintr(peer, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    int conn = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(lfd);
    ::setsockopt(conn, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return {conn, peer};
}

bool holds(medusa::backend b) { return b != medusa::backend::uring; }

class HeldReplies : public ::testing::TestWithParam<medusa::backend> {};

TEST_P(HeldReplies, RepliesPushedWhileReadingLeaveTogetherWhenTheReadIsDone) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    std::vector<size_t> gone_in_handler, pending_in_handler;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string& req) {
        r.push("<" + req + ">");
        gone_in_handler.push_back(bytes_gone(fd, peer));
        pending_in_handler.push_back(r.pending_bytes());
        EXPECT_FALSE(r.output_empty());
    };
    // Three requests in one write: one read frames them all.
    ASSERT_EQ(::send(peer, "a\r\nbb\r\nccc\r\n", 12, 0), 12);
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        read_some(peer, got);
        return got.size() >= 12;
    }));
    EXPECT_EQ(got, "<a><bb><ccc>");
    ASSERT_EQ(gone_in_handler.size(), 3u);
    if (holds(GetParam())) {
        // Nothing reached the socket while the read was being framed: the three replies left
        // in one send once it was done.
        EXPECT_EQ(gone_in_handler, (std::vector<size_t>{0, 0, 0}));
        EXPECT_EQ(pending_in_handler, (std::vector<size_t>{3, 7, 12}));
    }
    EXPECT_TRUE(ch->output_empty());
    EXPECT_EQ(ch->pending_bytes(), 0u);
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, AHookAfterHeldBytesIsToldOnceTheyHaveGoneNotBefore) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    std::vector<std::string> told;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string& req) {
        r.push("reply to " + req + "\n");
        replier* self = &r;
        r.push_hook(std::make_shared<recording_hook>([&told, self, req, fd, peer] {
            EXPECT_FALSE(self->in_handler) << "told while the read was still being framed";
            EXPECT_GE(bytes_gone(fd, peer), 9 + req.size()) << "told before its bytes had gone";
            told.push_back(req);
        }));
    };
    ASSERT_EQ(::send(peer, "one\r\ntwo\r\nthree\r\n", 17, 0), 17);
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        read_some(peer, got);
        return told.size() == 3;
    }));
    pump(m, [&] {
        read_some(peer, got);
        return got.size() >= 41;
    });
    EXPECT_EQ(got, "reply to one\nreply to two\nreply to three\n");
    EXPECT_EQ(told, (std::vector<std::string>{"one", "two", "three"}));
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, OtherOutputKeepsItsPlaceBehindHeldBytes) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->on_request = [](replier& r, const std::string&) {
        r.push("1");
        r.push(std::make_shared<const std::string>("2"));
        r.push("3");
        r.push_with_producer(std::make_unique<medusa::simple_producer>("4", 1));
        r.push("5");
        r.cork();
        r.push("6");
        r.uncork();
        r.push("7");
        r.close_when_done();
        r.push("never sent: after the close");
    };
    ASSERT_EQ(::send(peer, "go\r\n", 4, 0), 4);
    std::string got;
    bool eof = pump(m, [&] { return !read_some(peer, got); });
    ASSERT_TRUE(eof);
    EXPECT_EQ(got, "1234567");
    EXPECT_TRUE(ch->closed());
    ::close(peer);
}

TEST_P(HeldReplies, CloseInsideTheHandlerStillSendsWhatWasPushed) {
    // As before holding: push() then close() sent the bytes at push() and closed after them.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->on_request = [](replier& r, const std::string&) {
        r.push("goodbye\n");
        r.close();
    };
    ASSERT_EQ(::send(peer, "quit\r\n", 6, 0), 6);
    std::string got;
    bool eof = pump(m, [&] { return !read_some(peer, got); });
    ASSERT_TRUE(eof);
    if (holds(GetParam())) {
        EXPECT_EQ(got, "goodbye\n");
    }
    EXPECT_TRUE(ch->closed());
    ::close(peer);
}

TEST_P(HeldReplies, AHandlerThatFailsStillSendsWhatItPushedFirst) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->on_request = [](replier& r, const std::string&) {
        r.push("partial answer\n");
        throw std::runtime_error("the handler failed (expected by the test)");
    };
    ASSERT_EQ(::send(peer, "x\r\n", 3, 0), 3);
    std::string got;
    bool eof = pump(m, [&] { return !read_some(peer, got); });
    ASSERT_TRUE(eof) << "handle_error closes the channel";
    if (holds(GetParam())) {
        EXPECT_EQ(got, "partial answer\n");
    }
    ::close(peer);
}

TEST_P(HeldReplies, ALargeReplyIsNotHeld) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    const std::string big(100 << 10, 'b');
    size_t gone = 0;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string&) {
        r.push("small ");
        r.push(big);  // more than is held: what is held goes first, then this, at once
        gone = bytes_gone(fd, peer);
    };
    ASSERT_EQ(::send(peer, "x\r\n", 3, 0), 3);
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        read_some(peer, got);
        return got.size() >= 6 + big.size();
    }));
    EXPECT_TRUE(got == "small " + big);
    if (holds(GetParam())) {
        EXPECT_GT(gone, 0u) << "sent from inside the handler";
    }
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, APushOutsideAReadIsSentAtOnce) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    ch->push("unprompted\n");  // from outside any handler: nothing to wait for
    if (holds(GetParam())) {
        EXPECT_EQ(bytes_gone(fd, peer), 11u);
    }
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        read_some(peer, got);
        return got.size() >= 11;
    }));
    EXPECT_EQ(got, "unprompted\n");
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, HooksInARowAreEachToldOnceInOrderWhenTheHeldBytesSpill) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    std::vector<std::string> told;
    auto hook = [&told](std::string name) {
        return std::make_shared<recording_hook>([&told, name] { told.push_back(name); });
    };
    ch->on_request = [&](replier& r, const std::string&) {
        r.push("a");
        r.push_hook(hook("h1"));
        r.push_hook(hook("h2"));  // same place: right after "a"
        r.push("b");
        r.push_hook(hook("h3"));
        r.push(std::make_shared<const std::string>("c"));  // spills what is held, hooks with it
        r.push_hook(hook("h4"));
    };
    ASSERT_EQ(::send(peer, "x\r\n", 3, 0), 3);
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        read_some(peer, got);
        return told.size() == 4 && got.size() == 3;
    }));
    EXPECT_EQ(got, "abc");
    EXPECT_EQ(told, (std::vector<std::string>{"h1", "h2", "h3", "h4"}));
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, WhatTheSocketCannotTakeWaitsWithItsHooksBehindIt) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = narrow_pair();
    auto ch = medusa::make<replier>(fd, m);
    // Three replies of 20 KB in one read, each with a hook that checks its bytes have gone.
    std::vector<std::string> told;
    size_t read_total = 0;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string& req) {
        r.push(std::string(20000, req[0]));
        r.push_hook(std::make_shared<recording_hook>([&, req, fd, peer] {
            const size_t need = 20000 * (req[0] - 'a' + 1);
            EXPECT_GE(read_total + bytes_gone(fd, peer), need) << req << " told too early";
            told.push_back(req);
        }));
    };
    ASSERT_EQ(::send(peer, "a\r\nb\r\nc\r\n", 9, 0), 9);
    // The peer does not read until the channel has had a pass with the socket full.
    for (int i = 0; i < 3; ++i) m.poll_once(std::chrono::milliseconds(5));
    EXPECT_LT(told.size(), 3u) << "60 KB cannot have gone into a 4 KB socket";
    std::string got;
    ASSERT_TRUE(pump(m, [&] {
        size_t before = got.size();
        read_some(peer, got);
        read_total += got.size() - before;
        return got.size() == 60000 && told.size() == 3;
    }));
    EXPECT_TRUE(got == std::string(20000, 'a') + std::string(20000, 'b') + std::string(20000, 'c'));
    EXPECT_EQ(told, (std::vector<std::string>{"a", "b", "c"}));
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, ALoopRunInsideTheHandlerSendsWhatItHolds) {
    // A handler that waits (in a loop of its own) for its output to leave must not wait forever.
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    bool left = false;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string&) {
        r.push("ping\n");
        for (int i = 0; i < 50 && !left; ++i) {
            m.poll_once(std::chrono::milliseconds(10));
            left = bytes_gone(fd, peer) >= 5;
        }
    };
    ASSERT_EQ(::send(peer, "x\r\n", 3, 0), 3);
    ASSERT_TRUE(pump(m, [&] { return ch->requests == 1; }));
    EXPECT_TRUE(left) << "the output stayed held while the handler's loop ran";
    std::string got;
    pump(m, [&] {
        read_some(peer, got);
        return got.size() >= 5;
    });
    EXPECT_EQ(got, "ping\n");
    ch->close();
    ::close(peer);
}

TEST_P(HeldReplies, DelChannelSendsWhatIsHeldBeforeTheSocketChangesHands) {
    medusa::socket_map m(GetParam());
    auto [fd, peer] = chat_test::tcp_pair();
    auto ch = medusa::make<replier>(fd, m);
    size_t gone_at_handoff = 0;
    int taken = -1;
    ch->on_request = [&, fd = fd, peer = peer](replier& r, const std::string&) {
        r.push("last words from the loop\n");
        r.del_channel();
        gone_at_handoff = bytes_gone(fd, peer);
        taken = r.fileno();  // the new owner writes from here on
    };
    ASSERT_EQ(::send(peer, "x\r\n", 3, 0), 3);
    ASSERT_TRUE(pump(m, [&] { return taken >= 0; }));
    if (holds(GetParam())) {
        EXPECT_EQ(gone_at_handoff, 25u);
    }
    if (GetParam() != medusa::backend::uring) {
        ASSERT_EQ(::send(taken, "new owner\n", 10, MSG_NOSIGNAL), 10);
        std::string got;
        for (int i = 0; i < 400 && got.size() < 35; ++i) {
            read_some(peer, got);
            if (got.size() < 35) ::usleep(5000);
        }
        EXPECT_EQ(got, "last words from the loop\nnew owner\n");
    }
    ch->close();
    ::close(peer);
}

INSTANTIATE_TEST_SUITE_P(Backends, HeldReplies, medusa_test::all_backends,
                         medusa_test::backend_name);

}  // namespace
