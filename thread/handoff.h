// handoff: give a connection to a thread for the rest of its session — the recipe of medusa's
// docs/threads.txt ("have the thread remove the socket from Medusa's control, by calling the
// del_channel() method, and put the socket into blocking-mode"), made safe.
//
//     // loop thread, in a handler that wants to talk to this client from a blocking thread:
//     medusa::thread::hand_off(channel, pool, [](medusa::thread::handed_socket s) {
//         std::string request = s.already_read();   // bytes the loop had read, not yet used
//         s.send_all(reply);                         // blocking, no SIGPIPE; throws on error
//         ... blocking ::recv(s.fd(), ...) ...
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
//   - Stopping. A thread blocked in send() to a client that reads nothing would block for ever,
//     and a server stopping would wait for it for ever. With the pool form, the pool's
//     shutdown() shuts every handed socket down (shutdown(2), SHUT_RDWR): a blocked send() fails
//     at once (EPIPE), a blocked recv() returns 0, the thread unwinds and is joined. A hand-off
//     still queued when the pool stops is abandoned: its socket closes and fn is never called.
//     The client gets what was already sent, then the end of the connection.
// If the channel closes while its output drains (the client went away), fn is never called; if
// the output has not drained after `drain_limit`, the channel is closed and fn is not called.
//
// Which form. hand_off(channel, pool, fn) runs fn as a job of a worker_pool: the threads are
// bounded, joined and stoppable as above. hand_off(channel, fn) starts a detached thread per
// connection: nothing can join it or cut it short, so a program that must stop cleanly while
// hand-offs are in progress uses the pool form.
//
// A server shutting down with hand-offs in progress (medusa-demo does this on SIGTERM):
//     loop(...);             // returns on stop()
//     close_all(map);        // the listener closes: no new connections
//     pool.shutdown();       // handed sockets are shut down; every thread joined
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"

namespace medusa::thread {

class worker_pool;

// A blocking socket a thread owns, and the bytes the loop had read from it but not used.
class handed_socket {
public:
    // Owns `fd` from here. When `stop` is requested (the pool's shutdown()), the socket is shut
    // down (SHUT_RDWR) so that a thread blocked on it returns.
    handed_socket(int fd, std::string already_read, address peer, std::stop_token stop = {});
    ~handed_socket();
    handed_socket(handed_socket&& o) noexcept;
    handed_socket& operator=(handed_socket&&) = delete;
    handed_socket(const handed_socket&) = delete;
    handed_socket& operator=(const handed_socket&) = delete;

    int fd() const { return fd_; }
    const std::string& already_read() const { return already_read_; }
    const address& peer() const { return peer_; }
    // True once the server is stopping; the socket has then been shut down.
    bool stop_requested() const { return stop_.stop_requested(); }
    const std::stop_token& stop_token() const { return stop_; }

    // Send all of `data`, blocking; MSG_NOSIGNAL, so a client that has gone costs an exception,
    // not the process (SIGPIPE). Throws std::system_error naming send() and the peer, e.g.
    // "send(127.0.0.1:51234): Broken pipe".
    void send_all(std::string_view data);

    // Give up ownership (the caller closes the descriptor; a later stop no longer touches it).
    int release();

private:
    // Shuts the socket down on stop. It holds the descriptor's number only: destroying it
    // (which waits for a call in progress) comes before close(), so it never shuts down a
    // descriptor number the process has since reused for another connection.
    struct shut_down_socket {
        int fd;
        void operator()() const;
    };

    int fd_;
    std::string already_read_;
    address peer_;
    std::stop_token stop_;
    std::unique_ptr<std::stop_callback<shut_down_socket>> on_stop_;
};

using handoff_fn = std::function<void(handed_socket socket)>;

struct handoff_options {
    // How long the channel's queued output may take to drain before the hand-off is abandoned.
    std::chrono::milliseconds drain_limit{30'000};
    // How often the loop looks at the queue meanwhile.
    std::chrono::milliseconds drain_check{2};
};

// In the loop thread: hand `channel` to fn, run on a new (detached) thread. fn owns the socket
// and everything it captures; an exception escaping fn is logged and the socket closed.
void hand_off(const std::shared_ptr<async_chat>& channel, handoff_fn fn,
              handoff_options o = {});
// The same, with fn run as a job of `pool`, stopped by pool.shutdown() as described above. If
// the pool refuses the job (full, or shut down), the channel is closed and the refusal logged.
void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              handoff_options o = {});

// Called in the loop thread when the pool refuses a hand-off, with the channel still in the loop
// (its output drained, reading paused, the bytes it had read past the request gone): the caller
// answers there, e.g. a 503 that closes the connection (handoff_handler.h does).
using refused_fn = std::function<void(const std::shared_ptr<async_chat>& channel)>;
// The pool form, with `refused` run instead of closing the channel when the pool is full.
void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              refused_fn refused, handoff_options o = {});

}  // namespace medusa::thread
