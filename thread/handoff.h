// handoff: give a connection to a thread for the rest of its session — the recipe of medusa's
// docs/threads.txt ("have the thread remove the socket from Medusa's control, by calling the
// del_channel() method, and put the socket into blocking-mode"), made safe.
//
//     // loop thread, in a handler that wants to talk to this client from a blocking thread:
//     medusa::thread::hand_off(channel, [](medusa::thread::handed_socket s) {
//         std::string request = s.already_read();   // bytes the loop had read, not yet used
//         ... blocking ::recv(s.fd(), ...) / ::send(s.fd(), ...) ...
//     });                                          // the socket closes with `s`
//
// What the recipe left out, done here:
//   - Output the channel had queued (a reply to an earlier pipelined request) would be lost by a
//     plain del_channel(). hand_off() first stops framing input, then waits in the loop until
//     the queue is empty, and only then takes the channel out of the map.
//   - Input the channel had read but not yet framed goes to the thread (already_read()).
//   - The descriptor: the channel closes its own when it is destroyed, so the thread gets a
//     duplicate (dup(2)) made blocking. The thread owns that one; handed_socket closes it.
//   - The thread never sees the channel object: it stays in the loop thread, where it is
//     destroyed at the end of the pass, so nothing is shared between the two threads.
// If the channel closes while its output drains (the client went away), fn is never called; if
// the output has not drained after `drain_limit`, the channel is closed and fn is not called.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"

namespace medusa::thread {

class worker_pool;

// A blocking socket a thread owns, and the bytes the loop had read from it but not used.
class handed_socket {
public:
    handed_socket(int fd, std::string already_read, address peer)
        : fd_(fd), already_read_(std::move(already_read)), peer_(std::move(peer)) {}
    ~handed_socket();
    handed_socket(handed_socket&& o) noexcept;
    handed_socket& operator=(handed_socket&&) = delete;
    handed_socket(const handed_socket&) = delete;
    handed_socket& operator=(const handed_socket&) = delete;

    int fd() const { return fd_; }
    const std::string& already_read() const { return already_read_; }
    const address& peer() const { return peer_; }
    // Give up ownership (the caller closes the descriptor).
    int release();

private:
    int fd_;
    std::string already_read_;
    address peer_;
};

using handoff_fn = std::function<void(handed_socket socket)>;

struct handoff_options {
    // How long the channel's queued output may take to drain before the hand-off is abandoned.
    std::chrono::milliseconds drain_limit{30'000};
    // How often the loop looks at the queue meanwhile.
    std::chrono::milliseconds drain_check{2};
};

// In the loop thread: hand `channel` to fn, run on a new (detached) thread. fn owns the socket
// and everything it captures; an exception escaping fn is logged.
void hand_off(const std::shared_ptr<async_chat>& channel, handoff_fn fn,
              handoff_options o = {});
// The same, with fn run as a job of `pool`. If the pool refuses the job (full), the socket is
// closed and the refusal logged: a caller that wants to answer 503 checks the pool first.
void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              handoff_options o = {});

}  // namespace medusa::thread
