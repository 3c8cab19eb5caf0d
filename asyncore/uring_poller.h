// uring_poller: the poller over io_uring(7), where the kernel does a connection's reads and
// writes and the loop makes one system call per pass for all of them.
//
// With epoll a keep-alive request costs three system calls: epoll_wait says the socket is
// readable, recv reads the request, send writes the reply. Here the loop pass's one
// io_uring_enter(2) submits every reply queued during the pass, re-arms every read, and waits for
// the next completions; a request costs a fraction of one call. On a machine where entering the
// kernel is dear (page-table isolation: ~1.1 µs per call on this project's VM) that is most of
// what separates a server from the bare minimum.
//
// The model stays asyncore's: readiness events, readable()/writable(), handle_read() calling
// recv(). For a connected stream socket (an accepted connection; a connected socketpair) the
// poller emulates readiness from completions:
//   - read interest keeps one recv in flight, which waits for bytes before it takes a buffer
//     from a shared pool (so an idle connection holds none). Its completion is the readable
//     event, and dispatcher::recv() hands out those bytes without a system call. Only one read is
//     ever outstanding, so a connection that stops reading (paused, over its high-water mark)
//     holds at most one buffer; the rest waits in the kernel under TCP flow control. When the
//     pool is empty the read fails with bytes waiting, and recv() reads them with the system call.
//   - send() copies the bytes and queues one send; it returns at once, as if the socket took
//     them all. While it is in flight the socket is not writable, and its completion is the
//     writable event: a peer that does not read holds one send, never an unbounded queue.
//     A send that the kernel completes in part is continued from where it stopped.
//   - errors and end of file arrive with the completions and are given to the next recv() or
//     send(), as the system call would have returned them. A socket that only writes is not
//     watched for a hang-up (as on select): it learns of the peer's end from its send.
// Every other descriptor (listeners, connects in progress, pipes, the trigger's eventfd, files)
// is watched with one-shot poll requests, re-armed each pass while the interest lasts, which
// gives select's and epoll's level-triggered behaviour.
//
// What a caller must know, beyond the poller interface:
//   - queued sends reach the kernel at the next wait (or at remove()): a test that pushes and
//     then reads the peer end must run a pass in between;
//   - sendfile(2) and a send that must be followed by one (MSG_MORE) are done by the caller as
//     system calls, which is safe whenever busy() is false (nothing of ours is in the socket's
//     way); when such a call finds the socket full the caller says wait_writable(), and a poll
//     for POLLOUT decides when the socket is writable again. async_chat does exactly that;
//   - remove() submits what is queued before the descriptor is closed, so a reply pushed just
//     before close() still leaves, and cancels the read so the socket does not outlive close(2);
//     loop() keeps running until such sends are done (pending()), and the destructor gives them
//     two seconds before it cancels them;
//   - take_input() returns what the kernel delivered but recv() has not yet taken, for a socket
//     handed to a thread;
//   - the loop's thread should be the one that submits (it is, unless a map is used or
//     destroyed from elsewhere): a thread that has submitted to an io_uring receives the
//     kernel's notices of finished work, and such a notice makes a blocking socket call with a
//     timeout (SO_RCVTIMEO) on that thread fail with EINTR.
//
// Needs Linux 5.19 or later (buffer rings, cancel by user data, MSG_WAITALL sends); make_poller()
// throws std::system_error naming io_uring_queue_init where the kernel or a seccomp profile
// refuses io_uring.
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "asyncore/poller.h"

namespace medusa {

class uring_poller final : public poller {
public:
    uring_poller();
    ~uring_poller() override;
    uring_poller(const uring_poller&) = delete;
    uring_poller& operator=(const uring_poller&) = delete;

    backend kind() const override { return backend::uring; }
    void add(int fd) override { enter(fd, false); }
    void add_stream(int fd) override { enter(fd, true); }
    void remove(int fd) override;
    void set_interest(int fd, bool want_read, bool want_write) override;
    void wait(int timeout_ms, std::vector<ready_event>& out) override;
    uring_poller* ring() override { return this; }

    // --- a stream socket's I/O ----------------------------------------------------------------
    // True when fd was added as a stream socket: its reads and writes go through the calls below.
    bool is_stream(int fd) const {
        return fd >= 0 && static_cast<size_t>(fd) < fds_.size() && fds_[fd].registered &&
               fds_[fd].stream;
    }
    // As recv(2): bytes copied out of what the kernel delivered, 0 at end of file, -1 with errno
    // (EAGAIN: nothing has arrived yet; the readable event will say when).
    ssize_t recv(int fd, void* buf, size_t n);
    // Bytes the kernel delivered for fd that recv() has not taken yet.
    bool has_delivered(int fd) const { return is_stream(fd) && fds_[fd].stash_buf >= 0; }
    // A send is queued or in flight: the socket is not writable yet.
    bool busy(int fd) const { return is_stream(fd) && fds_[fd].send_busy; }
    // A send taken by send() has failed since (EPIPE, ECONNRESET...): the next send() returns
    // the error, and the descriptor's next event is a hang-up.
    bool send_failed(int fd) const { return is_stream(fd) && fds_[fd].send_error != 0; }
    // Queue the pieces as one send (flags as send(2); MSG_NOSIGNAL is always added). Returns
    // the bytes taken (their total, or max_send when they are more: the copy is bounded), or -1
    // with errno: EAGAIN while busy(), or the error an earlier send ended in (EPIPE,
    // ECONNRESET...), which stays until the descriptor is removed.
    ssize_t send(int fd, const iovec* iov, size_t count, int flags);
    // shutdown(fd, SHUT_WR) once the send in flight, if any, has gone.
    void shutdown_write(int fd);
    // The caller's own system call on fd (sendfile, a send with MSG_MORE) found the socket full:
    // fd is not writable again until the kernel says there is room (a poll for POLLOUT).
    void wait_writable(int fd);
    // Sends of removed sockets still in flight: loop() runs until they are done, as a channel
    // on the other backends stays open until its last bytes are in the socket.
    bool pending() const override { return !orphans_.empty(); }
    // The delivered bytes recv() has not taken, after cancelling the read in flight (waiting for
    // it, so nothing arrives after this returns). For a hand-off of the socket to a thread.
    std::string take_input(int fd);

    // Buffers in the shared receive pool, and their size.
    static constexpr unsigned pool_buffers = 512;
    static constexpr unsigned pool_buffer_size = 4096;
    // The most one send() copies (async_chat's send turn).
    static constexpr size_t max_send = 256 << 10;

private:
    enum op_kind : uint64_t { op_recv = 1, op_send = 2, op_poll = 3, op_ignore = 4 };

    struct fd_state {
        bool registered = false;
        bool stream = false;
        bool want_read = false;
        bool want_write = false;
        bool listed = false;          // in touched_: its readiness is looked at after the next wait
        bool recv_armed = false;      // a recv is in flight
        bool poll_armed = false;      // a one-shot poll is in flight
        bool send_busy = false;       // a send is queued or in flight
        bool shutdown_pending = false;
        bool eof = false;             // the peer's end of file has arrived
        bool nobufs = false;          // the pool ran dry: recv() reads the socket itself
        bool await_pollout = false;   // wait_writable(): not writable until POLLOUT
        uint32_t gen = 0;             // bumped by remove(): completions of an older socket are stale
        uint32_t poll_mask = 0;       // what the armed poll waits for
        uint32_t revents = 0;         // what the last poll completion reported, not yet delivered
        int recv_error = 0;
        int send_error = 0;
        bool send_error_told = false;  // the channel has heard of it (a hang-up)
        int stash_buf = -1;           // pool buffer holding delivered bytes, -1 when none
        uint32_t stash_pos = 0, stash_len = 0;
        std::string send_buf;         // the bytes of the send in flight
        size_t send_pos = 0;          // how far the kernel has taken them
        int send_flags = 0;
    };

    static uint64_t user_data(int fd, uint32_t gen, op_kind k) {
        return (uint64_t{gen} << 32) | (uint64_t(uint32_t(fd)) << 3) | k;
    }
    void enter(int fd, bool stream);
    fd_state* find(int fd);
    io_uring_sqe* sqe();
    void touch(int fd, fd_state& s);
    void arm(int fd, fd_state& s);
    void queue_send(int fd, fd_state& s);
    void release_stash(fd_state& s);
    void give_buffer(int id);
    void complete(const io_uring_cqe& c);
    void reap();
    void submit_all();
    bool ready_now(const fd_state& s) const;
    static bool input_waiting(const fd_state& s) {
        return s.stash_buf >= 0 || s.eof || s.recv_error != 0 || s.nobufs;
    }
    void cancel_armed(int fd, const fd_state& s);
    uint32_t wanted_poll_mask(const fd_state& s) const;

    io_uring ring_{};
    io_uring_buf_ring* pool_ring_ = nullptr;
    char* pool_ = nullptr;
    std::vector<fd_state> fds_;
    std::vector<int> touched_;
    // Sends still in flight for a socket that has been removed (closed, most likely): their bytes
    // must live until the kernel is done with them. Keyed by user data.
    std::unordered_map<uint64_t, std::string> orphans_;
    size_t in_flight_ = 0;  // requests submitted or queued whose completion has not been seen
};

}  // namespace medusa
