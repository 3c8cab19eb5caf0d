// Shared pieces of the thread suite: a socketpair-backed async_chat, a loop runner with a
// deadline, a reader for the peer end, a blocking loopback client, a count of open descriptors,
// and a thread-safe capture of the log.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/backends.h"

namespace medusa::thread::testing {

using namespace std::chrono_literals;

// A channel over one end of a socketpair; the test holds the other end as the "client".
class sink_channel : public async_chat {
public:
    sink_channel(int fd, socket_map& map) : async_chat(fd, map) {}
    void collect_incoming_data(std::string_view data) override { received.append(data); }
    void found_terminator() override {}
    std::string received;
};

// A channel in `map` and the client's end of its connection (non-blocking, owned by the caller).
inline std::pair<std::shared_ptr<sink_channel>, int> make_connected(socket_map& map) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    ::fcntl(sv[1], F_SETFL, ::fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    return {make<sink_channel>(sv[0], map), sv[1]};
}

// Run passes of `map` until pred() is true or `limit` has passed; returns pred().
inline bool run_until(socket_map& map, const std::function<bool()>& pred,
                      clock::duration limit = 20s) {
    auto deadline = clock::now() + limit;
    while (!pred()) {
        if (clock::now() > deadline) return false;
        map.poll_once(std::chrono::milliseconds(5));
    }
    return true;
}

// What the client end has received.
struct peer_reader {
    explicit peer_reader(int client_fd) : fd(client_fd) {}
    int fd;
    std::string data;
    bool eof = false;

    // Read whatever is there now, without blocking.
    void read_available() {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                data.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n == 0) eof = true;
            return;
        }
    }
    // Run the loop, reading as it goes, until pred() or the limit.
    bool run_until(socket_map& map, const std::function<bool()>& pred, clock::duration limit = 20s) {
        return testing::run_until(
            map,
            [&] {
                read_available();
                return pred();
            },
            limit);
    }
    bool run_until_eof(socket_map& map, clock::duration limit = 20s) {
        return run_until(map, [&] { return eof; }, limit);
    }
};

// A blocking loopback TCP client; every read times out after 10 s.
class tcp_client {
public:
    explicit tcp_client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect_to(fd_, port) != 0) throw std::runtime_error("connect");
    }
    ~tcp_client() { hang_up(); }
    tcp_client(const tcp_client&) = delete;
    tcp_client& operator=(const tcp_client&) = delete;

    // 0, or the errno of a connect() to 127.0.0.1:port (ECONNREFUSED: nobody listens).
    static int connect_to(int fd, uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return medusa_test::connect_through_eintr(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
    }
    static int try_connect(uint16_t port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int e = connect_to(fd, port);
        ::close(fd);
        return e;
    }

    int fd() const { return fd_; }
    void send(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send");
            s.remove_prefix(size_t(n));
        }
    }
    // Everything until the server closes (or the timeout).
    std::string read_all() {
        std::string out;
        read_to_end(out);
        return out;
    }
    // Appends everything until the connection ends; returns how it ended: 0 for end of file,
    // else the errno of the failed recv() (ECONNRESET; EAGAIN when the 10 s timeout ran out).
    int read_to_end(std::string& out) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                out.append(buf, size_t(n));
                continue;
            }
            if (n == 0) return 0;
            if (errno == EINTR) continue;
            return errno;
        }
    }
    // At least `n` bytes (fewer on timeout or close).
    std::string read_some(size_t n) {
        std::string out;
        char buf[16384];
        while (out.size() < n) {
            ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break;
            out.append(buf, size_t(k));
        }
        return out;
    }
    void hang_up() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// Descriptors open in this process now (a leak shows as a difference between two counts).
inline int count_open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
        --n;  // the directory stream's own descriptor
    }
    return n;
}

// A gate jobs wait at, bounded in time so a broken test fails instead of hanging.
class gate {
public:
    void wait() {
        std::unique_lock lock(m_);
        ++waiting_;
        cv_.notify_all();
        cv_.wait_for(lock, 20s, [this] { return open_; });
    }
    bool wait_for_waiters(int n) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, 20s, [&] { return waiting_ >= n; });
    }
    void open() {
        std::lock_guard lock(m_);
        open_ = true;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int waiting_ = 0;
    bool open_ = false;
};

// Captures log lines (from any thread) while alive; stderr again afterwards.
class log_capture {
public:
    log_capture() {
        set_log_sink([this](std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        });
    }
    ~log_capture() {
        set_log_sink([](std::string_view line) {
            std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
        });
    }
    bool contains(std::string_view text) const {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

}  // namespace medusa::thread::testing
