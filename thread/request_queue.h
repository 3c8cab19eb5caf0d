// request_queue and worker_pool: slow work leaves the loop for a fixed set of threads
// (medusa's thread_handler.request_queue and request_loop_thread).
//
// The loop thread put()s jobs; each worker takes the oldest job, runs it, and takes the next.
// The queue is bounded (medusa's was not): put() returns false at once when it is full, and the
// HTTP side answers 503 instead of letting a burst of requests queue memory without limit.
//
//     medusa::thread::worker_pool pool(4 /*threads*/, 64 /*queued jobs at most*/);
//     // loop thread, in a handler:
//     if (!pool.put([trigger, weak, n] { ... })) request->error(503);
//     // at exit:
//     pool.shutdown();   // no new jobs; workers finish what is queued; every thread joined
//
// A job talks back to the loop only through a select_trigger (see select_trigger.h). A job
// that throws is logged (write_log_line(), which is thread-safe) and its worker goes on to the
// next job; in medusa the exception killed the worker thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace medusa::thread {

// A callable `void()` that may own move-only things (a trigger_file, a unique_ptr):
// std::function requires a copyable target, and C++20 has no std::move_only_function.
class job {
public:
    job() = default;
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, job> &&
                                                std::is_invocable_v<std::decay_t<F>&>>>
    job(F&& f) : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

    void operator()() { impl_->call(); }
    explicit operator bool() const { return impl_ != nullptr; }

private:
    struct base {
        virtual ~base() = default;
        virtual void call() = 0;
    };
    template <class F>
    struct model final : base {
        explicit model(F&& f) : fn(std::move(f)) {}
        explicit model(const F& f) : fn(f) {}
        void call() override { fn(); }
        F fn;
    };
    std::unique_ptr<base> impl_;
};

class request_queue {
public:
    static constexpr size_t default_limit = 1024;

    // At most `limit` jobs wait at once (jobs being run do not count).
    explicit request_queue(size_t limit = default_limit);
    request_queue(const request_queue&) = delete;
    request_queue& operator=(const request_queue&) = delete;

    // Queue a job. Returns false, leaving `j` untouched (so the caller still owns whatever it
    // captured), when the queue is full or closed.
    bool put(job&& j);
    // The oldest job, waiting while there is none. nullopt once the queue is closed and has
    // nothing left to give (at once, if it was closed with abandon).
    std::optional<job> get();
    // Refuse new jobs and wake every waiting get(). With abandon, queued jobs are dropped
    // (destroyed in the calling thread); otherwise get() hands them out until none is left.
    void close(bool abandon = false);

    size_t size() const;
    size_t limit() const { return limit_; }
    bool closed() const;

private:
    const size_t limit_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<job> jobs_;  // guarded by mutex_
    bool closed_ = false;   // guarded by mutex_
};

class worker_pool {
public:
    // Start `threads` workers (at least one) over a queue of at most `queue_limit` jobs.
    explicit worker_pool(size_t threads, size_t queue_limit = request_queue::default_limit);
    // shutdown(finish_queued).
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    // See request_queue::put(): false when full (answer 503) or shut down.
    bool put(job&& j) { return queue_.put(std::move(j)); }

    enum class mode { finish_queued, abandon_queued };
    // Stop accepting jobs and request a stop on stop_token(); the jobs running now always
    // finish (a thread cannot be interrupted safely; a job that watches the token finishes
    // early), then the queued ones run or are dropped according to `m`; returns once every
    // worker has been joined. Idempotent. Throws std::logic_error if called from a worker
    // (it would wait for itself).
    void shutdown(mode m = mode::finish_queued);

    // Requested by shutdown(), before it waits for anything. A job that may block for a long
    // time watches it: a hand-off (handoff.h) shuts its socket down through a std::stop_callback,
    // so a thread blocked sending to a client that reads nothing returns and can be joined.
    std::stop_token stop_token() const { return stop_.get_token(); }

    size_t threads() const { return threads_.size(); }
    request_queue& queue() { return queue_; }
    uint64_t jobs_run() const { return jobs_run_.load(std::memory_order_relaxed); }
    uint64_t jobs_failed() const { return jobs_failed_.load(std::memory_order_relaxed); }

private:
    // One worker (medusa's request_loop_thread.run): get, run, repeat until the queue closes.
    void request_loop();

    request_queue queue_;
    std::vector<std::thread> threads_;
    std::vector<std::thread::id> ids_;  // fixed at construction; threads_[i].get_id() changes on join
    std::stop_source stop_;
    std::mutex shutdown_mutex_;  // one shutdown() joins; a concurrent one waits for it
    std::atomic<uint64_t> jobs_run_{0}, jobs_failed_{0};
};

}  // namespace medusa::thread
