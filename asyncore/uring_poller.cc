// uring_poller.cc: see uring_poller.h.
#include "asyncore/uring_poller.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "asyncore/buffer_stock.h"

namespace medusa {

namespace {

constexpr unsigned ring_entries = 1024;
constexpr int pool_group = 0;

[[noreturn]] void fail(int err, std::string what) {
    throw std::system_error(err, std::system_category(), what);
}

// How long the destructor lets sends of closed channels finish before it cancels them.
constexpr auto teardown_limit = std::chrono::seconds(2);

}  // namespace

uring_poller::uring_poller() {
    io_uring_params params{};
    // Completions are posted when the loop next enters the kernel rather than by interrupting
    // it: one thread runs the loop, and it enters the kernel once per pass anyway.
    params.flags = IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(ring_entries, &ring_, &params);
    if (r == -EINVAL) {
        params = {};
        r = io_uring_queue_init_params(ring_entries, &ring_, &params);
    }
    if (r < 0) fail(-r, "io_uring_queue_init");

    // The receive pool: pool_buffers buffers the kernel picks from as reads complete.
    const size_t ring_bytes = pool_buffers * sizeof(io_uring_buf);
    void* br = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    void* pool = ::mmap(nullptr, size_t{pool_buffers} * pool_buffer_size, PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    auto undo = [&](int err, const char* what) {
        if (br != MAP_FAILED) ::munmap(br, ring_bytes);
        if (pool != MAP_FAILED) ::munmap(pool, size_t{pool_buffers} * pool_buffer_size);
        io_uring_queue_exit(&ring_);
        fail(err, what);
    };
    if (br == MAP_FAILED || pool == MAP_FAILED) undo(errno, "mmap (io_uring receive pool)");
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uintptr_t>(br);
    reg.ring_entries = pool_buffers;
    reg.bgid = pool_group;
    r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) undo(-r, "io_uring_register_buf_ring");
    pool_ring_ = static_cast<io_uring_buf_ring*>(br);
    pool_ = static_cast<char*>(pool);
    io_uring_buf_ring_init(pool_ring_);
    for (unsigned i = 0; i < pool_buffers; ++i)
        io_uring_buf_ring_add(pool_ring_, pool_ + size_t{i} * pool_buffer_size, pool_buffer_size, i,
                              io_uring_buf_ring_mask(pool_buffers), static_cast<int>(i));
    io_uring_buf_ring_advance(pool_ring_, pool_buffers);
}

uring_poller::~uring_poller() {
    // Reads and polls still armed are cancelled. Sends still in flight (a reply whose channel
    // has closed) are given time to finish, as bytes in a closed socket's buffer would still go;
    // then whatever is left is cancelled, and we wait (briefly) until the kernel has let go of
    // the pool and the send buffers before the memory goes.
    try {
        for (size_t fd = 0; fd < fds_.size(); ++fd)
            if (fds_[fd].registered) cancel_armed(int(fd), fds_[fd]);
        auto settle = [this](std::chrono::steady_clock::duration limit) {
            auto deadline = std::chrono::steady_clock::now() + limit;
            while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
                io_uring_submit(&ring_);  // a send continued in part is queued again
                __kernel_timespec ts{0, 50'000'000};
                io_uring_cqe* cqe = nullptr;
                int r = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
                if (r < 0 && r != -ETIME && r != -EINTR) break;
                reap();
            }
        };
        settle(teardown_limit);
        if (in_flight_ > 0) {
            if (io_uring_sqe* e = io_uring_get_sqe(&ring_)) {
                io_uring_prep_cancel64(e, 0, IORING_ASYNC_CANCEL_ANY);
                io_uring_sqe_set_data64(e, op_ignore);
                ++in_flight_;
            }
            settle(std::chrono::seconds(1));
        }
    } catch (...) {
    }
    io_uring_queue_exit(&ring_);
    ::munmap(pool_ring_, pool_buffers * sizeof(io_uring_buf));
    ::munmap(pool_, size_t{pool_buffers} * pool_buffer_size);
}

// --- registration and interest ---------------------------------------------------------------

uring_poller::fd_state* uring_poller::find(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].registered) return nullptr;
    return &fds_[fd];
}

void uring_poller::enter(int fd, bool stream) {
    if (fd < 0) fail(EBADF, fmt::format("io_uring: add(fd {})", fd));
    if (fds_.size() <= static_cast<size_t>(fd)) fds_.resize(fd + 1);
    fd_state& s = fds_[fd];
    if (s.registered) return;
    // A removed socket's number may still be listed in touched_: keep the mark that says so.
    const uint32_t gen = s.gen;
    const bool listed = s.listed;
    s = fd_state{};
    s.gen = gen;
    s.listed = listed;
    s.registered = true;
    s.stream = stream;
}

void uring_poller::remove(int fd) {
    fd_state* s = find(fd);
    if (!s) return;
    // Else an armed read holds the socket open after close(2), and the peer never sees a FIN.
    cancel_armed(fd, *s);
    // A send in flight goes on after close(2): the kernel holds the socket until it is done.
    if (s->send_busy) orphans_.emplace(user_data(fd, s->gen, op_send), std::move(s->send_buf));
    release_stash(*s);
    s->registered = false;
    ++s->gen;
    // Now, while the descriptor still names this socket: a send queued this pass must reach the
    // kernel before the caller closes it (or hands it to a thread).
    submit_all();
}

void uring_poller::submit_all() {
    // Every queued request, or an exception: one left behind could name the descriptor after
    // close(2), when the number may already belong to another socket.
    while (io_uring_sq_ready(&ring_) > 0) {
        int r = io_uring_submit(&ring_);
        if (r >= 0 || r == -EINTR) continue;
        if (r == -EBUSY || r == -EAGAIN) {
            reap();  // the completion queue is full: make room
            continue;
        }
        fail(-r, "io_uring_submit");
    }
}

void uring_poller::cancel_armed(int fd, const fd_state& s) {
    if (s.recv_armed) {
        io_uring_sqe* e = sqe();
        io_uring_prep_cancel64(e, user_data(fd, s.gen, op_recv), 0);
        io_uring_sqe_set_data64(e, op_ignore);
    }
    if (s.poll_armed) {
        io_uring_sqe* e = sqe();
        io_uring_prep_poll_remove(e, user_data(fd, s.gen, op_poll));
        io_uring_sqe_set_data64(e, op_ignore);
    }
}

uint32_t uring_poller::wanted_poll_mask(const fd_state& s) const {
    // Not POLLPRI: a poll that a socket's wake-up completes reports the wake-up's key, and a
    // socket wakes its readers with EPOLLIN | EPOLLPRI for every arrival (sock_def_readable),
    // so each new connection on a listener would look like urgent data (an expt event, and a
    // getsockopt(SO_ERROR) per accepting pass). The descriptors polled here are listeners,
    // sockets a dispatcher connected itself (connecting, then connected: they stay polled),
    // datagram sockets, pipes and eventfds; of them only a connected TCP socket can receive
    // urgent (out-of-band) data, which io_uring then does not report (README, the backends).
    // POLLERR and POLLHUP are reported whatever is asked.
    return (s.want_read ? uint32_t{POLLIN} : 0) | (s.want_write ? uint32_t{POLLOUT} : 0);
}

void uring_poller::set_interest(int fd, bool want_read, bool want_write) {
    fd_state* s = find(fd);
    if (!s) return;
    s->want_read = want_read;
    s->want_write = want_write;
    touch(fd, *s);
    if (s->stream || !s->poll_armed) return;  // armed (or not) by the next wait
    uint32_t want = wanted_poll_mask(*s);
    if (want == s->poll_mask) return;
    // The poll in flight waits for the old interest: change it in place, or take it away.
    io_uring_sqe* e = sqe();
    if (want == 0)
        io_uring_prep_poll_remove(e, user_data(fd, s->gen, op_poll));
    else
        io_uring_prep_poll_update(e, user_data(fd, s->gen, op_poll), user_data(fd, s->gen, op_poll),
                                  want, IORING_POLL_UPDATE_EVENTS);
    io_uring_sqe_set_data64(e, op_ignore);
    s->poll_mask = want;
}

void uring_poller::touch(int fd, fd_state& s) {
    if (s.listed) return;
    s.listed = true;
    touched_.push_back(fd);
}

io_uring_sqe* uring_poller::sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    if (!e) {
        io_uring_submit(&ring_);  // the queue is full: what is in it goes now, in order
        e = io_uring_get_sqe(&ring_);
        if (!e) fail(EBUSY, "io_uring_get_sqe");
    }
    ++in_flight_;
    return e;
}

// --- the wait ----------------------------------------------------------------------------------

bool uring_poller::ready_now(const fd_state& s) const {
    if (s.stream)
        return (s.want_read && input_waiting(s)) ||
               (s.want_write && !s.send_busy && !s.await_pollout) || (!s.want_read && s.revents != 0);
    return s.revents != 0;
}

void uring_poller::arm(int fd, fd_state& s) {
    if (s.stream) {
        // Beside its read, a stream socket needs a poll only for POLLOUT, after its owner's own
        // system call found the socket full (whose completion reports POLLHUP and POLLERR too).
        // No other: one that only writes learns of the peer's end from its sends, as a select()
        // loop's channel does: a send in flight completes with the error, and one that can go
        // now is told so at once and meets it. (A hang-up watch, a poll for no event, was armed,
        // updated and cancelled for every reply sent in turns to a client whose channel had
        // stopped reading: bench/README, "A ninth look".)
        if (s.want_write && s.await_pollout && s.revents == 0 && !s.poll_armed) {
            io_uring_sqe* e = sqe();
            io_uring_prep_poll_add(e, fd, POLLOUT);
            io_uring_sqe_set_data64(e, user_data(fd, s.gen, op_poll));
            s.poll_armed = true;
            s.poll_mask = POLLOUT;
        }
        if (!s.want_read || s.recv_armed || input_waiting(s))
            return;
        io_uring_sqe* e = sqe();
        io_uring_prep_recv(e, fd, nullptr, pool_buffer_size, 0);
        // Wait for bytes before taking a buffer: an idle connection holds none, and an empty
        // pool then fails only a read that has something to read (which recv() reads itself).
        e->ioprio |= IORING_RECVSEND_POLL_FIRST;
        e->flags |= IOSQE_BUFFER_SELECT;
        e->buf_group = pool_group;
        io_uring_sqe_set_data64(e, user_data(fd, s.gen, op_recv));
        s.recv_armed = true;
        return;
    }
    uint32_t want = wanted_poll_mask(s);
    if (want == 0 || s.poll_armed || s.revents != 0) return;
    io_uring_sqe* e = sqe();
    io_uring_prep_poll_add(e, fd, want);
    io_uring_sqe_set_data64(e, user_data(fd, s.gen, op_poll));
    s.poll_armed = true;
    s.poll_mask = want;
}

void uring_poller::wait(int timeout_ms, std::vector<ready_event>& out) {
    // Arm what the descriptors looked at since the last wait need; if one is ready already
    // (bytes delivered but not read, a finished send), submit without waiting.
    bool ready = false;
    for (int fd : touched_) {
        fd_state& s = fds_[fd];
        if (!s.registered) continue;
        arm(fd, s);
        ready = ready || ready_now(s);
    }
    int r;
    if (ready || timeout_ms == 0) {
        r = io_uring_submit(&ring_);
    } else {
        io_uring_cqe* cqe = nullptr;
        __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000LL};
        r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms < 0 ? nullptr : &ts, nullptr);
    }
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) fail(-r, "io_uring_enter");
    reap();

    // Report the ready ones. They stay listed, to be looked at again after the next wait
    // (level-triggered: a channel that did not read everything is told again); the others wait
    // for a completion, a recv()/send() or new interest to list them.
    size_t keep = 0;
    for (int fd : touched_) {
        fd_state& s = fds_[fd];
        if (!s.registered) {
            s.listed = false;
            continue;
        }
        ready_event ev{fd, false, false, false, false};
        if (s.stream) {
            ev.readable = s.want_read && input_waiting(s);
            ev.writable = s.want_write && !s.send_busy && !s.await_pollout;
            if (s.send_error != 0 && !s.send_error_told && !ev.readable) {
                // A send that failed after send() had taken its bytes (the peer gone, or output
                // after our half-close): the channel hears it as a hang-up, as the EPIPE of a
                // send(2) of its own would have ended in handle_close(). (Input still waiting
                // is read first.)
                s.send_error_told = true;
                ev.hangup = true;
            }
            if (!s.want_read && s.revents != 0) {
                // The POLLOUT wait of a channel that only writes (a reading one learns of the
                // end from its read, after the bytes before it).
                ev.hangup = ev.hangup || (s.revents & (POLLHUP | POLLNVAL)) != 0;
                ev.expt = (s.revents & POLLERR) != 0;
            }
            s.revents = 0;
        } else if (s.revents != 0) {
            uint32_t e = s.revents;
            s.revents = 0;  // a one-shot poll's news is told once; the next wait re-arms it
            bool interested = s.want_read || s.want_write;
            ev.readable = s.want_read && (e & POLLIN);
            ev.writable = s.want_write && (e & POLLOUT);
            ev.expt = interested && (e & (POLLPRI | POLLERR));
            ev.hangup = interested && (e & (POLLHUP | POLLNVAL));
        }
        if (ev.readable || ev.writable || ev.expt || ev.hangup) {
            out.push_back(ev);
            touched_[keep++] = fd;
        } else if (!s.stream && (s.want_read || s.want_write) && !s.poll_armed) {
            touched_[keep++] = fd;  // interest without a poll in flight: arm one next wait
        } else {
            s.listed = false;
        }
    }
    touched_.resize(keep);
}

void uring_poller::reap() {
    // One at a time, each marked seen before it is handled: were complete() to throw, no
    // completion would be handled twice (a pool buffer given back twice corrupts the pool).
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe) {
        const io_uring_cqe c = *cqe;
        io_uring_cqe_seen(&ring_, cqe);
        if (in_flight_ > 0) --in_flight_;
        complete(c);
    }
}

void uring_poller::complete(const io_uring_cqe& c) {
    const uint64_t ud = c.user_data;
    const auto kind = static_cast<op_kind>(ud & 7);
    if (kind == op_ignore) return;
    const int fd = static_cast<int>((ud >> 3) & 0x1fffffff);
    const auto gen = static_cast<uint32_t>(ud >> 32);
    fd_state* s = find(fd);
    if (s && s->gen != gen) s = nullptr;  // an older socket that had this number

    switch (kind) {
    case op_recv: {
        const bool has_buffer = (c.flags & IORING_CQE_F_BUFFER) != 0;
        const int id = static_cast<int>(c.flags >> IORING_CQE_BUFFER_SHIFT);
        if (!s) {
            if (has_buffer) give_buffer(id);
            return;
        }
        s->recv_armed = false;
        if (c.res > 0 && has_buffer) {
            s->stash_buf = id;
            s->stash_pos = 0;
            s->stash_len = static_cast<uint32_t>(c.res);
        } else {
            if (has_buffer) give_buffer(id);
            if (c.res == 0)
                s->eof = true;
            else if (c.res == -ENOBUFS)
                s->nobufs = true;  // every pool buffer is taken: recv() reads the socket itself
            else if (c.res != -ECANCELED && c.res != -EINTR && c.res != -EAGAIN)
                s->recv_error = -c.res;
        }
        touch(fd, *s);
        return;
    }
    case op_send: {
        if (!s) {
            orphans_.erase(ud);  // the socket was removed; the kernel is done with the bytes
            return;
        }
        if (c.res == -EINTR || c.res == -EAGAIN) {
            queue_send(fd, *s);  // interrupted before anything went: again, as send(2) would be
            return;
        }
        if (c.res > 0) {
            s->send_pos += static_cast<size_t>(c.res);
            if (s->send_pos < s->send_buf.size()) {
                queue_send(fd, *s);  // taken in part (a signal, a full buffer): the rest follows
                return;
            }
        } else {
            s->send_error = c.res < 0 ? -c.res : EPIPE;
        }
        s->send_busy = false;
        buffer_stock::give(std::move(s->send_buf));
        s->send_buf = std::string();
        if (s->shutdown_pending) {
            s->shutdown_pending = false;
            if (s->send_error == 0) ::shutdown(fd, SHUT_WR);
        }
        touch(fd, *s);
        return;
    }
    case op_poll:
        if (!s) return;
        s->poll_armed = false;
        if (c.res != -ECANCELED) s->revents = c.res < 0 ? uint32_t{POLLERR} : static_cast<uint32_t>(c.res);
        if (s->revents & (POLLOUT | POLLERR | POLLHUP)) s->await_pollout = false;  // room, or news
        touch(fd, *s);
        return;
    case op_ignore:
        return;
    }
}

// --- a stream socket's I/O ----------------------------------------------------------------------

void uring_poller::give_buffer(int id) {
    io_uring_buf_ring_add(pool_ring_, pool_ + size_t(id) * pool_buffer_size, pool_buffer_size,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(pool_buffers), 0);
    io_uring_buf_ring_advance(pool_ring_, 1);
}

void uring_poller::release_stash(fd_state& s) {
    if (s.stash_buf < 0) return;
    give_buffer(s.stash_buf);
    s.stash_buf = -1;
    s.stash_pos = s.stash_len = 0;
}

ssize_t uring_poller::recv(int fd, void* buf, size_t n) {
    fd_state* s = find(fd);
    if (!s) {
        errno = EBADF;
        return -1;
    }
    if (s->stash_buf >= 0) {
        size_t k = std::min<size_t>(n, s->stash_len - s->stash_pos);
        std::memcpy(buf, pool_ + size_t(s->stash_buf) * pool_buffer_size + s->stash_pos, k);
        s->stash_pos += static_cast<uint32_t>(k);
        if (s->stash_pos == s->stash_len) {
            release_stash(*s);
            touch(fd, *s);  // the next wait arms the next read
        }
        return static_cast<ssize_t>(k);
    }
    if (s->recv_error != 0) {
        errno = s->recv_error;
        return -1;
    }
    if (s->eof) return 0;
    if (s->nobufs) {
        s->nobufs = false;
        touch(fd, *s);
        return ::recv(fd, buf, n, 0);
    }
    errno = EAGAIN;
    return -1;
}

ssize_t uring_poller::send(int fd, const iovec* iov, size_t count, int flags) {
    fd_state* s = find(fd);
    if (!s) {
        errno = EBADF;
        return -1;
    }
    if (s->send_error != 0) {
        errno = s->send_error;
        return -1;
    }
    if (s->send_busy) {
        errno = EAGAIN;
        return -1;
    }
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
    total = std::min(total, max_send);
    if (total == 0) return 0;
    // At least 64 bytes, so the string keeps its bytes on the heap: the kernel reads them at an
    // address taken now, and fds_ may move its elements when it grows.
    s->send_buf = buffer_stock::take(std::max<size_t>(total, 64));
    for (size_t i = 0; i < count && s->send_buf.size() < total; ++i)
        s->send_buf.append(static_cast<const char*>(iov[i].iov_base),
                           std::min(iov[i].iov_len, total - s->send_buf.size()));
    s->send_pos = 0;
    s->send_flags = flags;
    s->send_busy = true;
    queue_send(fd, *s);
    return static_cast<ssize_t>(total);
}

void uring_poller::queue_send(int fd, fd_state& s) {
    io_uring_sqe* e = sqe();
    io_uring_prep_send(e, fd, s.send_buf.data() + s.send_pos, s.send_buf.size() - s.send_pos,
                       s.send_flags | MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(e, user_data(fd, s.gen, op_send));
}

void uring_poller::wait_writable(int fd) {
    fd_state* s = find(fd);
    if (!s || !s->stream || s->await_pollout) return;
    s->await_pollout = true;
    touch(fd, *s);  // the next wait arms the poll
}

void uring_poller::shutdown_write(int fd) {
    fd_state* s = find(fd);
    if (s && s->send_busy) {
        s->shutdown_pending = true;
        return;
    }
    ::shutdown(fd, SHUT_WR);
}

std::string uring_poller::take_input(int fd) {
    fd_state* s = find(fd);
    if (!s || !s->stream) return {};
    if (s->recv_armed) {
        io_uring_sqe* e = sqe();
        io_uring_prep_cancel64(e, user_data(fd, s->gen, op_recv), 0);
        io_uring_sqe_set_data64(e, op_ignore);
        io_uring_submit(&ring_);
        // The read may have completed with bytes before the cancel reached it: wait for its
        // completion either way, so nothing arrives for this socket once we return.
        while (fds_[fd].recv_armed) {
            io_uring_cqe* cqe = nullptr;
            int r = io_uring_wait_cqe(&ring_, &cqe);
            if (r == -EINTR) continue;
            if (r < 0) fail(-r, "io_uring_wait_cqe");
            reap();
        }
        s = &fds_[fd];
        touch(fd, *s);  // should the channel read on after all (a refused hand-off), re-arm
    }
    std::string out;
    if (s->stash_buf >= 0) {
        out.assign(pool_ + size_t(s->stash_buf) * pool_buffer_size + s->stash_pos, s->stash_len - s->stash_pos);
        release_stash(*s);
    }
    return out;
}

}  // namespace medusa
