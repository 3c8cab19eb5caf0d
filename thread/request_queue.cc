#include "thread/request_queue.h"

#include <exception>
#include <stdexcept>

#include <fmt/format.h>

#include "asyncore/dispatcher.h"

namespace medusa::thread {

// --- request_queue ---------------------------------------------------------------------------

request_queue::request_queue(size_t limit) : limit_(limit) {}

bool request_queue::put(job&& j) {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || jobs_.size() >= limit_) return false;
        jobs_.push_back(std::move(j));
    }
    ready_.notify_one();
    return true;
}

std::optional<job> request_queue::get() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return std::nullopt;  // closed and drained (or abandoned)
    job j = std::move(jobs_.front());
    jobs_.pop_front();
    return j;
}

void request_queue::close(bool abandon) {
    std::deque<job> dropped;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        if (abandon) dropped.swap(jobs_);
    }
    ready_.notify_all();
    // `dropped` is destroyed here, outside the lock: a job's captures may pull a trigger.
}

size_t request_queue::size() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
}

bool request_queue::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

// --- worker_pool -----------------------------------------------------------------------------

worker_pool::worker_pool(size_t threads, size_t queue_limit) : queue_(queue_limit) {
    if (threads == 0) threads = 1;
    threads_.reserve(threads);
    try {
        for (size_t i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { request_loop(); });
            ids_.push_back(threads_.back().get_id());
        }
    } catch (...) {
        shutdown(mode::abandon_queued);  // join the ones that started before rethrowing
        throw;
    }
}

worker_pool::~worker_pool() {
    shutdown(mode::finish_queued);
}

void worker_pool::request_loop() {
    while (std::optional<job> j = queue_.get()) {
        try {
            (*j)();
            jobs_run_.fetch_add(1, std::memory_order_relaxed);
        } catch (const std::exception& e) {
            jobs_failed_.fetch_add(1, std::memory_order_relaxed);
            write_log_line(fmt::format("error: exception in worker thread: {}", e.what()));
        } catch (...) {
            jobs_failed_.fetch_add(1, std::memory_order_relaxed);
            write_log_line("error: exception in worker thread: (unknown exception)");
        }
    }
}

void worker_pool::shutdown(mode m) {
    for (auto id : ids_)
        if (id == std::this_thread::get_id())
            throw std::logic_error("worker_pool::shutdown() called from one of its own workers");
    // First the stop, which runs the jobs' stop callbacks here (a hand-off's socket is shut
    // down), then the queue: a queued job that still runs sees the stop and can leave at once.
    stop_.request_stop();
    queue_.close(m == mode::abandon_queued);
    std::lock_guard lock(shutdown_mutex_);
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

}  // namespace medusa::thread
