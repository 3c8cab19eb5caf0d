// Shared pieces of the thread suite: a socketpair-backed async_chat, a loop runner with a
// deadline, a reader for the peer end, and a thread-safe capture of the log.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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
