// poller: the one small interface behind which select, poll, epoll and io_uring live (one file
// each: select_poller.cc, poll_poller.cc, epoll_poller.cc, uring_poller.cc).
//
// The socket_map tells its poller which descriptors exist and what each is interested in; the
// poller waits and reports which are ready. The poller never sees a dispatcher: it deals in
// descriptors only, so the map (the truth about liveness) can look each one up again before it
// delivers an event.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

namespace medusa {

enum class backend { select, poll, epoll, uring };

class uring_poller;

// "select", "poll", "epoll", "uring"; and the reverse (throws std::invalid_argument on an unknown name).
std::string_view to_string(backend b);
backend backend_from_string(std::string_view name);
// epoll on Linux.
backend default_backend();

// What a descriptor is ready for. `expt` is urgent data or an error condition (POLLPRI,
// POLLERR, or select's exceptional set); the map turns it into handle_expt_event(), which reads
// SO_ERROR and calls handle_close() when there is one. `hangup` (POLLHUP, POLLNVAL) reaches the
// channel as handle_close() unless it was also readable: then the read sees the end of file
// first, and data still buffered before it is not lost.
struct ready_event {
    int fd;
    bool readable;
    bool writable;
    bool expt;
    bool hangup;  // POLLHUP / EPOLLHUP: the connection is gone both ways
};

class poller {
public:
    virtual ~poller() = default;
    virtual backend kind() const = 0;

    // Register a descriptor with no interest yet. Throws std::system_error naming the call when
    // the descriptor cannot be held (select: fd >= FD_SETSIZE).
    virtual void add(int fd) = 0;
    // Register a connected stream socket. The io_uring poller then does its reads and writes
    // itself (see uring_poller.h); the others treat it like any descriptor.
    virtual void add_stream(int fd) { add(fd); }
    // Forget a descriptor. Called before the descriptor is closed.
    virtual void remove(int fd) = 0;
    // Set what a registered descriptor waits for. Called only when the interest changes.
    virtual void set_interest(int fd, bool want_read, bool want_write) = 0;
    // Wait up to timeout_ms (-1: no limit) and append ready descriptors to `out`.
    // EINTR returns with nothing ready. Other failures throw std::system_error naming the call.
    virtual void wait(int timeout_ms, std::vector<ready_event>& out) = 0;
    // The io_uring poller, through which its stream sockets' I/O must go; null for the others.
    virtual uring_poller* ring() { return nullptr; }
    // Work of removed descriptors still in progress (io_uring: their last sends): loop() keeps
    // running while there is some.
    virtual bool pending() const { return false; }
};

// Throws std::system_error when the backend cannot be had (uring: a kernel or a seccomp profile
// that refuses io_uring).
std::unique_ptr<poller> make_poller(backend b);
// Whether make_poller(b) works on this machine (for uring it tries once and remembers).
bool backend_available(backend b);

}  // namespace medusa
