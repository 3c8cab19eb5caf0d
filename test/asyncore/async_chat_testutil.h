// Fixtures for the async_chat suites: a channel that records its framing events, loopback TCP
// pairs, and a bounded pump of the loop.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/async_chat.h"
#include "asyncore/socket_map.h"
#include "test/backends.h"

namespace chat_test {

using namespace std::chrono_literals;

// Records what async_chat hands it: the pieces collected between terminators are joined into
// one record per found_terminator(). `on_record` runs inside found_terminator().
class recorder : public medusa::async_chat {
public:
    recorder(int fd, medusa::socket_map& m) : async_chat(fd, m) {}

    void collect_incoming_data(std::string_view data) override {
        EXPECT_FALSE(data.empty()) << "collect_incoming_data got an empty piece";
        if (in_found) ++reentered;
        if (frame_at) {
            // Self-framing: the record ends at frame_at; what follows goes back with unread().
            size_t k = data.find(frame_at);
            if (k != std::string_view::npos) {
                current += data.substr(0, k);
                accounted += k + 1;
                ++collects;
                unread(data.size() - k - 1);
                records.push_back(std::exchange(current, {}));
                if (on_record) on_record(*this, records.back());
                return;
            }
        }
        current += data;
        accounted += data.size();
        ++collects;
    }
    void found_terminator() override {
        if (in_found) ++reentered;
        in_found = true;
        // The terminator that fired (a string is consumed with the record; a count is data).
        if (auto* s = std::get_if<std::string>(&get_terminator())) accounted += s->size();
        records.push_back(std::exchange(current, {}));
        if (on_record) on_record(*this, records.back());
        in_found = false;
    }
    void handle_close() override {
        ++closes;
        close();
    }
    // Every byte read so far is collected, a consumed terminator, or still buffered.
    size_t seen() const { return accounted + ac_in_buffer().size(); }
    // The records, then what was collected after the last terminator as "tail:...".
    std::vector<std::string> events() const {
        auto r = records;
        if (!current.empty()) r.push_back("tail:" + current);
        return r;
    }

    std::vector<std::string> records;
    std::string current;
    size_t accounted = 0;
    int collects = 0;
    int closes = 0;
    int reentered = 0;
    bool in_found = false;
    std::function<void(recorder&, const std::string&)> on_record;
    // Non-zero (with no terminator set): the channel frames its own records, ending at this byte.
    char frame_at = 0;
};

// Answers each "\r\n"-terminated request with `reply`, or runs on_request(channel, request).
class replier : public medusa::async_chat {
public:
    replier(int fd, medusa::socket_map& m) : async_chat(fd, m) { set_terminator("\r\n"); }
    void collect_incoming_data(std::string_view data) override { request.append(data); }
    void found_terminator() override {
        ++requests;
        in_handler = true;
        if (on_request)
            on_request(*this, request);
        else if (!reply.empty())
            push(reply);
        request.clear();
        in_handler = false;
    }
    void handle_close() override {
        ++closes;
        close();
    }
    std::string reply;
    std::function<void(replier&, const std::string&)> on_request;
    std::string request;      // the request being answered (without its "\r\n")
    bool in_handler = false;  // inside on_request
    int requests = 0;
    int closes = 0;
};

inline void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A listening TCP socket on a free loopback port; `a` is set to its address.
inline int loopback_listener(sockaddr_in& a) {
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a = sockaddr_in{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(lfd, 1), 0);
    EXPECT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    return lfd;
}

// A connected loopback TCP pair: {the channel's end, the test's peer end}.
inline std::pair<int, int> tcp_pair() {
    sockaddr_in a;
    int lfd = loopback_listener(a);
    int peer = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(medusa_test::connect_through_eintr(peer, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    int conn = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(lfd);
    int one = 1;
    ::setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return {conn, peer};
}

// Runs passes of the loop until pred() holds or `limit` has passed; returns pred().
template <class Pred>
bool pump(medusa::socket_map& m, Pred pred, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return pred();
        m.poll_once(std::chrono::milliseconds(10));
    }
    return true;
}

// Writes all of s to a blocking peer socket.
inline void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << "send: " << strerror(errno);
        s.remove_prefix(static_cast<size_t>(n));
    }
}

// Reads what a non-blocking peer socket has now into out; false once it has seen EOF.
inline bool read_some(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            out.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) return false;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

}  // namespace chat_test
