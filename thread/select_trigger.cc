#include "thread/select_trigger.h"

#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <cerrno>
#include <exception>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

namespace medusa::thread {

namespace {

std::system_error os_error(const char* call) {
    return std::system_error(errno, std::generic_category(), call);
}

// Both descriptors of a new wake-up channel: [read, write]. For an eventfd they are the same.
std::pair<int, int> open_wakeup(select_trigger::kind k) {
#ifdef __linux__
    if (k == select_trigger::kind::eventfd) {
        int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) throw os_error("eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC)");
        return {fd, fd};
    }
#else
    if (k == select_trigger::kind::eventfd)
        throw std::system_error(ENOSYS, std::generic_category(), "eventfd (not on this system)");
#endif
    int p[2];
#ifdef __linux__
    if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) throw os_error("pipe2(O_NONBLOCK|O_CLOEXEC)");
#else
    if (::pipe(p) < 0) throw os_error("pipe()");
    for (int fd : p) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
#endif
    return {p[0], p[1]};
}

}  // namespace

select_trigger::kind select_trigger::default_kind() {
#ifdef __linux__
    return kind::eventfd;
#else
    return kind::pipe;
#endif
}

std::shared_ptr<select_trigger> select_trigger::create(socket_map& map, kind k) {
    return make<select_trigger>(map, k);
}

select_trigger::select_trigger(socket_map& map, kind k)
    : select_trigger(map, k, open_wakeup(k)) {}

select_trigger::select_trigger(socket_map& map, kind k, std::pair<int, int> fds)
    : file_dispatcher(fds.first, map), kind_(k), write_fd_(fds.second) {}

select_trigger::~select_trigger() {
    // The read end is the dispatcher's and closes with it; only a pipe has a second descriptor.
    if (write_fd_ >= 0 && write_fd_ != fileno()) ::close(write_fd_);
}

bool select_trigger::pull_trigger(std::function<void()> thunk) {
    std::unique_lock lock(mutex_);
    if (closed_) {
        lock.unlock();
        return false;  // `thunk` is destroyed here, in the caller's thread, outside the lock
    }
    const bool was_empty = thunks_.empty();
    thunks_.push_back(std::move(thunk));
    pulls_.fetch_add(1, std::memory_order_relaxed);
    // Only the first thunk of a batch writes: the loop has not swapped the queue out yet, so a
    // wake-up for the earlier thunks is already on its way.
    if (was_empty) wake_locked();
    return true;
}

void select_trigger::wake_locked() {
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
        ssize_t n;
        if (kind_ == kind::eventfd) {
            uint64_t one = 1;
            n = ::write(write_fd_, &one, sizeof one);
        } else {
            char x = 'x';
            n = ::write(write_fd_, &x, 1);
        }
        if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) return;  // full: a wake-up is pending
        if (errno != EINTR) throw os_error(kind_ == kind::eventfd ? "write(eventfd)" : "write(pipe)");
    }
}

void select_trigger::drain() {
    // eventfd: one read returns the whole counter and resets it to zero.
    // pipe: read until a short read (the pipe is then empty) or EAGAIN.
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fileno(), buf, kind_ == kind::eventfd ? sizeof(uint64_t) : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (kind_ == kind::eventfd || n < static_cast<ssize_t>(sizeof buf)) return;
    }
}

void select_trigger::handle_read() {
    // Drain first, then take the queue: a thunk pulled after the swap finds the queue empty and
    // writes again, so its wake-up cannot be swallowed by this drain.
    drain();
    drains_.fetch_add(1, std::memory_order_relaxed);
    {
        std::lock_guard lock(mutex_);
        running_.swap(thunks_);
    }
    for (auto& thunk : running_) {
        try {
            thunk();
            thunks_run_.fetch_add(1, std::memory_order_relaxed);
        } catch (const std::exception& e) {
            thunks_failed_.fetch_add(1, std::memory_order_relaxed);
            log_info(fmt::format("exception in trigger thunk: {}", e.what()), "error");
        } catch (...) {
            thunks_failed_.fetch_add(1, std::memory_order_relaxed);
            log_info("exception in trigger thunk: (unknown exception)", "error");
        }
        // A thunk may have closed the trigger (close_all() at shutdown); the rest still run,
        // they only touch channels they lock themselves.
    }
    // Destroy the captures here, in the loop thread (they may hold the last reference to a
    // channel), and keep the capacity for the next batch.
    running_.clear();
}

void select_trigger::close() {
    std::vector<std::function<void()>> dropped;
    {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            closed_ = true;
            dropped.swap(thunks_);
            if (write_fd_ >= 0 && write_fd_ != fileno()) ::close(write_fd_);
            write_fd_ = -1;
        }
    }
    file_dispatcher::close();
}

select_trigger::statistics select_trigger::stats() const {
    statistics s;
    s.pulls = pulls_.load(std::memory_order_relaxed);
    s.wakeups = wakeups_.load(std::memory_order_relaxed);
    s.drains = drains_.load(std::memory_order_relaxed);
    s.thunks_run = thunks_run_.load(std::memory_order_relaxed);
    s.thunks_failed = thunks_failed_.load(std::memory_order_relaxed);
    return s;
}

std::string select_trigger::repr() const {
    return fmt::format("<select-trigger ({}) at {}>", kind_ == kind::eventfd ? "eventfd" : "pipe",
                       static_cast<const void*>(this));
}

// --- one trigger per map -------------------------------------------------------------------------

namespace {
std::mutex registry_mutex;
std::unordered_map<const socket_map*, std::weak_ptr<select_trigger>>& registry() {
    static auto* r = new std::unordered_map<const socket_map*, std::weak_ptr<select_trigger>>;
    return *r;
}
}  // namespace

std::shared_ptr<select_trigger> trigger_for(socket_map& map) {
    std::lock_guard lock(registry_mutex);
    auto& slot = registry()[&map];
    // The map is the truth about liveness: a trigger that was closed, or that belonged to a map
    // since destroyed at this same address, is not in this map any more.
    if (auto t = slot.lock(); t && !t->closed() && map.get(t->fileno()) == t) return t;
    auto t = select_trigger::create(map);
    slot = t;
    return t;
}

}  // namespace medusa::thread
