#include "thread/thread_channel.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace medusa::thread {

namespace {

std::pair<int, int> make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
        throw std::system_error(errno, std::generic_category(), "pipe2(O_CLOEXEC)");
    return {p[0], p[1]};
}

// The parent, if the loop may still touch it.
std::shared_ptr<async_chat> live(const std::weak_ptr<async_chat>& parent) {
    auto p = parent.lock();
    return p && !p->closed() && p->in_map() ? p : nullptr;
}

}  // namespace

std::shared_ptr<thread_channel> thread_channel::create(const std::shared_ptr<async_chat>& parent,
                                                       function fn, completion on_eof) {
    return make<thread_channel>(parent, std::move(fn), std::move(on_eof), parent->map());
}

thread_channel::thread_channel(std::weak_ptr<async_chat> parent, function fn, completion on_eof,
                               socket_map& map)
    : thread_channel(std::move(parent), std::move(fn), std::move(on_eof), map, make_pipe()) {}

thread_channel::thread_channel(std::weak_ptr<async_chat> parent, function fn, completion on_eof,
                               socket_map& map, std::pair<int, int> fds)
    : file_dispatcher(fds.first, map),  // made non-blocking: the loop must never wait on it
      parent_(std::move(parent)),
      fn_(std::move(fn)),
      on_eof_(std::move(on_eof)),
      write_fd_(fds.second) {}

thread_channel::~thread_channel() {
    if (write_fd_ >= 0) ::close(write_fd_);  // never started
    if (worker_.joinable()) {
        // Finished: the join returns at once. Still running: the thread owns all it uses.
        if (finished())
            worker_.join();
        else
            worker_.detach();
    }
}

void thread_channel::start() {
    if (write_fd_ < 0) throw std::logic_error("thread_channel::start() called twice");
    finished_ = std::make_shared<std::atomic<bool>>(false);
    int fd = std::exchange(write_fd_, -1);
    worker_ = std::thread([fd, fn = std::move(fn_), finished = finished_] {
        // A write to a pipe whose reader has gone raises SIGPIPE, which would kill the process;
        // blocked, the write fails with EPIPE instead and fn can see it.
        sigset_t pipe_only;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
        try {
            fn(fd);
        } catch (const std::exception& e) {
            write_log_line(fmt::format("error: exception in thread_channel thread: {}", e.what()));
        } catch (...) {
            write_log_line("error: exception in thread_channel thread: (unknown exception)");
        }
        ::close(fd);  // the loop sees end of file
        finished->store(true, std::memory_order_release);
    });
}

void thread_channel::join() {
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void thread_channel::handle_read() {
    std::string data(buffer_size, '\0');
    ssize_t n = ::read(fileno(), data.data(), data.size());
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("read(thread_channel fd={})", fileno()));
    }
    if (n == 0) {
        handle_close();
        return;
    }
    data.resize(static_cast<size_t>(n));
    if (auto p = live(parent_))
        p->push(std::move(data));
    else
        close();  // nobody to read for: the thread's next write fails with EPIPE
}

void thread_channel::handle_close() {
    // A poller may report the hang-up before every byte has been read (POLLHUP with POLLIN set):
    // pass the rest on before closing.
    auto p = live(parent_);
    for (;;) {
        std::string data(buffer_size, '\0');
        ssize_t n = ::read(fileno(), data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data.resize(static_cast<size_t>(n));
        if (p) p->push(std::move(data));
    }
    if (p && on_eof_) on_eof_(*p);
    close();
}

std::string thread_channel::repr() const {
    return fmt::format("<thread_channel fd={} at {}>", fileno(), static_cast<const void*>(this));
}

}  // namespace medusa::thread
