// Shared fixtures for the asyncore suites: a log capture, small channels, and a bounded loop.
#pragma once

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/backends.h"

namespace medusa_test {

using namespace std::chrono_literals;

// Every backend this machine runs, for INSTANTIATE_TEST_SUITE_P (test/backends.h).
inline const auto all_backends = ::testing::ValuesIn(every_backend());

// Captures log lines for the lifetime of the object (then stderr again).
class log_capture {
public:
    log_capture() {
        medusa::set_log_sink([this](std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        });
    }
    ~log_capture() { medusa::set_log_sink(nullptr); }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    int count(std::string_view needle) const {
        std::lock_guard lock(mutex_);
        int n = 0;
        for (const auto& l : lines_) n += l.find(needle) != std::string::npos;
        return n;
    }
    std::string all() const {
        std::string s;
        for (const auto& l : lines()) s += l + "\n";
        return s;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

// A connected pair of Unix stream sockets, closed at the end unless released.
struct sock_pair {
    int a = -1, b = -1;
    sock_pair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
            a = fds[0];
            b = fds[1];
        }
    }
    ~sock_pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
    int release_a() { return std::exchange(a, -1); }
    void close_b() { ::close(std::exchange(b, -1)); }
    void put(std::string_view s) const { ASSERT_EQ(::write(b, s.data(), s.size()), ssize_t(s.size())); }
};

// A channel that reads whatever arrives and counts its events.
class reader : public medusa::dispatcher {
public:
    reader(medusa::socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool writable() override { return false; }
    void handle_read() override {
        ++reads;
        char buf[4096];
        ssize_t n = recv(buf, sizeof buf);
        if (n > 0) data.append(buf, n);
        if (on_read) on_read();
    }
    void handle_close() override {
        ++closes;
        close();
    }
    std::string data;
    int reads = 0;
    int closes = 0;
    std::function<void()> on_read;  // capture no shared_ptr to this channel
};

// Runs loop() on m until a handler calls stop() or the map empties; a safety timer stops it
// after `limit`. Returns false if the safety timer had to stop it.
inline bool run_bounded(medusa::socket_map& m, std::chrono::milliseconds limit = 5000ms) {
    bool timed_out = false;
    auto id = m.call_later(limit, [&] {
        timed_out = true;
        m.stop();
    });
    medusa::loop(std::chrono::duration<double>(1.0), std::nullopt, m);
    m.cancel(id);
    return !timed_out;
}

// Sets RLIMIT_NOFILE's soft limit for a scope and restores it after.
class nofile_limit {
public:
    nofile_limit() { ::getrlimit(RLIMIT_NOFILE, &saved_); }
    ~nofile_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
    bool set(rlim_t soft) {
        rlimit r = saved_;
        if (soft > r.rlim_max) return false;
        r.rlim_cur = soft;
        return ::setrlimit(RLIMIT_NOFILE, &r) == 0;
    }
    const rlimit& saved() const { return saved_; }

private:
    rlimit saved_{};
};

}  // namespace medusa_test
