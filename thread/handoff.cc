#include "thread/handoff.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "thread/request_queue.h"

namespace medusa::thread {

handed_socket::~handed_socket() {
    if (fd_ >= 0) ::close(fd_);
}

handed_socket::handed_socket(handed_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      already_read_(std::move(o.already_read_)),
      peer_(std::move(o.peer_)) {}

int handed_socket::release() {
    return std::exchange(fd_, -1);
}

namespace {

// Starts fn with the socket somewhere other than the loop thread.
using runner = std::function<void(handoff_fn fn, handed_socket s)>;

void run_guarded(handoff_fn& fn, handed_socket s) {
    try {
        fn(std::move(s));
    } catch (const std::exception& e) {
        write_log_line(fmt::format("error: exception in hand-off thread: {}", e.what()));
    } catch (...) {
        write_log_line("error: exception in hand-off thread: (unknown exception)");
    }
}

void try_hand_off(const std::weak_ptr<async_chat>& weak, handoff_fn fn, runner run,
                  handoff_options o, clock::time_point deadline) {
    auto c = weak.lock();
    if (!c || c->closed() || !c->in_map()) return;  // the client went away while we waited
    if (!c->output_empty()) {
        if (clock::now() >= deadline) {
            c->log_info("hand-off abandoned: queued output did not drain in time", "warning");
            c->close();
            return;
        }
        c->map().call_later(o.drain_check, [weak, fn = std::move(fn), run = std::move(run), o,
                                            deadline]() mutable {
            try_hand_off(weak, std::move(fn), std::move(run), o, deadline);
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
    c->del_channel();  // out of the loop now; destroyed at the end of this pass
    // O_NONBLOCK belongs to the open file, shared with the channel's descriptor, which is about
    // to be closed: the thread gets ordinary blocking reads and writes.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    run(std::move(fn), handed_socket(fd, std::move(rest), std::move(peer)));
}

void start(const std::shared_ptr<async_chat>& channel, handoff_fn fn, runner run,
           handoff_options o) {
    channel->pause_reading();  // frame nothing more: the rest of the input is the thread's
    try_hand_off(channel, std::move(fn), std::move(run), o, clock::now() + o.drain_limit);
}

}  // namespace

void hand_off(const std::shared_ptr<async_chat>& channel, handoff_fn fn, handoff_options o) {
    start(channel, std::move(fn),
          [](handoff_fn f, handed_socket s) {
              std::thread([f = std::move(f), s = std::move(s)]() mutable {
                  run_guarded(f, std::move(s));
              }).detach();
          },
          o);
}

void hand_off(const std::shared_ptr<async_chat>& channel, worker_pool& pool, handoff_fn fn,
              handoff_options o) {
    start(channel, std::move(fn),
          [pool = &pool](handoff_fn f, handed_socket s) {
              job j = [f = std::move(f), s = std::move(s)]() mutable {
                  run_guarded(f, std::move(s));
              };
              if (!pool->put(std::move(j)))
                  write_log_line("warning: hand-off refused: the worker pool is full; closing");
          },
          o);
}

}  // namespace medusa::thread
