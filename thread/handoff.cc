#include "thread/handoff.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "thread/request_queue.h"

namespace medusa::thread {

handed_socket::handed_socket(int fd, std::string already_read, address peer, std::stop_token stop)
    : fd_(fd), already_read_(std::move(already_read)), peer_(std::move(peer)), stop_(std::move(stop)) {
    // Runs shut_down_socket at once if the stop was requested already.
    if (fd_ >= 0 && stop_.stop_possible())
        on_stop_ = std::make_unique<std::stop_callback<shut_down_socket>>(stop_, shut_down_socket{fd_});
}

handed_socket::~handed_socket() {
    on_stop_.reset();  // first: after this, no other thread calls shutdown() on fd_
    if (fd_ >= 0) ::close(fd_);
}

handed_socket::handed_socket(handed_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      already_read_(std::move(o.already_read_)),
      peer_(std::move(o.peer_)),
      stop_(std::move(o.stop_)),
      on_stop_(std::move(o.on_stop_)) {}

int handed_socket::release() {
    on_stop_.reset();
    return std::exchange(fd_, -1);
}

void handed_socket::shut_down_socket::operator()() const {
    ::shutdown(fd, SHUT_RDWR);  // the descriptor stays open: its owner closes it
}

void handed_socket::send_all(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(),
                                    fmt::format("send({})", peer_.to_string()));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

namespace {

// Starts fn with the socket somewhere other than the loop thread; false if it could not (the
// pool is full or shut down), the socket then closed unused.
using runner = std::function<bool(handoff_fn fn, handed_socket s)>;

void run_guarded(handoff_fn& fn, handed_socket s) {
    // A hand-off still queued when the pool stopped: abandoned, the socket closes unused.
    if (s.stop_requested()) return;
    std::stop_token stop = s.stop_token();
    // After a stop, a send() that fails is the shutdown at work, not a fault of the handler.
    auto failed = [&stop](std::string_view what) {
        if (stop.stop_requested())
            write_log_line(fmt::format("info: hand-off thread cut short by shutdown: {}", what));
        else
            write_log_line(fmt::format("error: exception in hand-off thread: {}", what));
    };
    try {
        fn(std::move(s));
    } catch (const std::exception& e) {
        failed(e.what());
    } catch (...) {
        failed("(unknown exception)");
    }
}

void try_hand_off(const std::weak_ptr<async_chat>& weak, handoff_fn fn, runner run,
                  refused_fn refused, handoff_options o, std::stop_token stop,
                  clock::time_point deadline) {
    auto c = weak.lock();
    if (!c || c->closed() || !c->in_map()) return;  // the client went away while we waited
    if (!c->output_empty()) {
        if (clock::now() >= deadline) {
            c->log_info("hand-off abandoned: queued output did not drain in time", "warning");
            c->close();
            return;
        }
        c->map().call_later(o.drain_check, [weak, fn = std::move(fn), run = std::move(run),
                                            refused = std::move(refused), o,
                                            stop = std::move(stop), deadline]() mutable {
            try_hand_off(weak, std::move(fn), std::move(run), std::move(refused), o,
                         std::move(stop), deadline);
        });
        return;
    }
    // The channel keeps (and closes) its own descriptor; the thread gets a duplicate.
    int fd = ::fcntl(c->fileno(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("fcntl(fd={}, F_DUPFD_CLOEXEC)", c->fileno()));
    std::string rest = c->take_in_buffer();
    address peer = c->addr();
    // O_NONBLOCK belongs to the open file, shared with the channel's descriptor, which is about
    // to be closed: the thread gets ordinary blocking reads and writes.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    // Started before del_channel(), so that a refusal still finds the channel in the loop. A
    // worker that starts at once is safe: the channel, paused and with nothing queued, does no
    // I/O before del_channel() below, which runs in this same loop pass.
    if (run(std::move(fn), handed_socket(fd, std::move(rest), std::move(peer), std::move(stop)))) {
        c->del_channel();  // out of the loop now; destroyed at the end of this pass
        return;
    }
    // Refused: the duplicate is closed already; the channel gets its non-blocking mode back.
    if (flags >= 0) ::fcntl(c->fileno(), F_SETFL, flags);
    if (refused) {
        refused(c);
    } else {
        write_log_line("warning: hand-off refused: the worker pool is full or shut down; closing");
        c->close();
    }
}

void start(const std::shared_ptr<async_chat>& channel, handoff_fn fn, runner run,
           refused_fn refused, handoff_options o, std::stop_token stop) {
    channel->pause_reading();  // frame nothing more: the rest of the input is the thread's
    try_hand_off(channel, std::move(fn), std::move(run), std::move(refused), o, std::move(stop),
                 clock::now() + o.drain_limit);
}

}  // namespace

void hand_off(const std::shared_ptr<async_chat>& channel, handoff_fn fn, handoff_options o) {
    start(channel, std::move(fn),
          [](handoff_fn f, handed_socket s) {
              std::thread([f = std::move(f), s = std::move(s)]() mutable {
                  run_guarded(f, std::move(s));
              }).detach();
              return true;
          },
          nullptr, o, std::stop_token());
}

void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              handoff_options o) {
    hand_off(channel, pool, std::move(fn), nullptr, o);
}

void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              refused_fn refused, handoff_options o) {
    start(channel, std::move(fn),
          [pool = &pool](handoff_fn f, handed_socket s) {
              job j = [f = std::move(f), s = std::move(s)]() mutable {
                  run_guarded(f, std::move(s));
              };
              return pool->put(std::move(j));  // refused: `j` (and the duplicate) dies here
          },
          std::move(refused), o, pool.stop_token());
}

}  // namespace medusa::thread
