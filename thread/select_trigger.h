// select_trigger: the one door from another thread into the event loop
// (medusa's thread/select_trigger.py, class trigger).
//
// THE RULE. One thread runs loop() on a socket_map and owns every channel in it. No other thread
// may call anything on a channel: not push(), not close(), not even closed(). A thread that has
// something for a channel hands the loop a thunk with pull_trigger(); the loop runs the thunk in
// its own thread, where touching the channel is safe. Hold channels as std::weak_ptr on the other
// side and let call_in_loop() lock them in the loop thread, so a thunk for a channel that has
// closed in the meantime does nothing instead of touching freed memory:
//
//     // in a handler (loop thread): remember the channel weakly, give work to a thread
//     auto trigger = medusa::thread::trigger_for(map());
//     std::weak_ptr<my_channel> weak = std::static_pointer_cast<my_channel>(shared_from_this());
//     std::thread([trigger, weak] {
//         std::string answer = slow_lookup();            // worker thread: no channel access
//         trigger->call_in_loop(weak, [answer](my_channel& c) {
//             c.push(answer);                              // loop thread, channel alive
//         });
//     }).detach();
//
// How it works. The trigger is a file_dispatcher in the map, reading an eventfd (Linux) or the
// read end of a pipe (elsewhere; forced with kind::pipe, so both paths are built and tested).
// pull_trigger() appends the thunk to a queue under a mutex and writes to the descriptor only
// when the queue goes from empty to non-empty: 5,000 pulls between two loop passes cost one
// write and one wake-up, not 5,000. In the loop, handle_read() drains the descriptor completely
// (a byte left behind would keep a level-triggered poller spinning at 100% CPU), then swaps the
// whole queue out under the mutex and runs the thunks after releasing it, in the order they were
// pulled. User code never runs under the mutex, so a thunk may itself call pull_trigger() (that
// thunk runs on the next pass). A thunk that throws is logged with log_info() and the thunks
// after it still run.
//
// Which trigger. trigger_for(map) returns the map's trigger, creating it on first use (medusa's
// module-global `the_trigger`, one per map here). Call it in the loop thread, or before the loop
// starts, as with every other change to the map; hand the shared_ptr to your threads. A map
// holding a trigger is never empty, so loop() returns only through stop() or a pass count (as in
// medusa, whose trigger also kept asyncore.loop() running). Shut down threads that may still
// pull before destroying the map: thunks pulled after that are kept but never run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncore/file_dispatcher.h"

namespace medusa::thread {

class select_trigger : public file_dispatcher {
public:
    // The wake-up descriptor: an eventfd (one descriptor, a counter the kernel resets on read) or
    // a pipe (two descriptors, one byte per wake-up).
    enum class kind { eventfd, pipe };
    // eventfd on Linux, pipe elsewhere.
    static kind default_kind();

    // Make a trigger and add it to `map`. Same thread rule as any map change: the loop thread,
    // or before loop() runs. Throws std::system_error naming eventfd() or pipe2() on failure.
    static std::shared_ptr<select_trigger> create(socket_map& map = default_map(),
                                                  kind k = default_kind());

    // Public for make<>(); prefer create().
    select_trigger(socket_map& map, kind k);
    ~select_trigger() override;

    // Queue `thunk` to run in the loop thread, after every thunk pulled before it. Safe from any
    // thread, including the loop's own. Returns false (and drops the thunk, destroying it in the
    // caller's thread) when the trigger has been closed, e.g. by close_all() at shutdown.
    bool pull_trigger(std::function<void()> thunk);

    // Run f(channel) in the loop thread if, by then, the channel still exists, is open and is
    // in its map (a channel handed to a thread with del_channel() belongs to that thread, not to
    // the loop). Otherwise run on_gone() there instead, or nothing. The weak_ptr is locked only
    // in the loop thread, so the channel is never kept alive, or destroyed, by the caller.
    // Returns what pull_trigger() returns.
    template <class T, class F>
    bool call_in_loop(std::weak_ptr<T> channel, F f) {
        return call_in_loop(std::move(channel), std::move(f), [] {});
    }
    template <class T, class F, class G>
    bool call_in_loop(std::weak_ptr<T> channel, F f, G on_gone) {
        static_assert(std::is_base_of_v<dispatcher, T>, "call_in_loop needs a channel");
        static_assert(std::is_invocable_v<F&, T&>, "f must be callable as f(T& channel)");
        return pull_trigger([channel = std::move(channel), f = std::move(f),
                             on_gone = std::move(on_gone)]() mutable {
            std::shared_ptr<T> c = channel.lock();
            if (c && !c->closed() && c->in_map())
                f(*c);
            else
                on_gone();
        });
    }
    // The same from a shared_ptr (in the loop thread, where a handler has one). The thunk keeps
    // only the weak_ptr.
    template <class T, class F>
    bool call_in_loop(const std::shared_ptr<T>& channel, F f) {
        return call_in_loop(std::weak_ptr<T>(channel), std::move(f));
    }

    // Counters, for the status page and for tests that check coalescing: `wakeups` counts writes
    // to the descriptor, `drains` the passes that emptied it; both stay far below `pulls` when
    // threads pull faster than the loop runs.
    struct statistics {
        uint64_t pulls = 0;
        uint64_t wakeups = 0;
        uint64_t drains = 0;
        uint64_t thunks_run = 0;
        uint64_t thunks_failed = 0;
    };
    statistics stats() const;
    kind mechanism() const { return kind_; }

    // --- dispatcher hooks ----------------------------------------------------------------------
    bool readable() override { return true; }
    bool writable() override { return false; }
    void handle_read() override;
    // Stop accepting thunks (pull_trigger() returns false from now on), drop the queued ones
    // and close both descriptors.
    void close() override;
    // "<select-trigger (eventfd) at 0x55d0...>"
    std::string repr() const override;

private:
    // fds: [read end, write end] (the same eventfd twice).
    select_trigger(socket_map& map, kind k, std::pair<int, int> fds);
    void wake_locked();  // one write to write_fd_; mutex_ held
    void drain();        // read the descriptor until it is empty

    const kind kind_;
    mutable std::mutex mutex_;
    std::vector<std::function<void()>> thunks_;  // guarded by mutex_
    // The descriptor pull_trigger() writes to: the eventfd itself or the pipe's write end.
    // Guarded by mutex_, so close() can never race a write onto a reused descriptor number.
    int write_fd_ = -1;
    bool closed_ = false;                        // guarded by mutex_
    std::vector<std::function<void()>> running_;  // loop thread only: the batch being run

    std::atomic<uint64_t> pulls_{0}, wakeups_{0}, drains_{0}, thunks_run_{0}, thunks_failed_{0};
};

// The trigger of `map`, made and added on first use (see "Which trigger" above). A closed trigger
// (close_all()) is replaced by a fresh one on the next call.
std::shared_ptr<select_trigger> trigger_for(socket_map& map = default_map());

}  // namespace medusa::thread
