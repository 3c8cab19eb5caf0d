// socket_map and loop(): medusa's channel map and the event loop that serves it.
//
// In Python asyncore the map is a dict {fd: dispatcher} and loop() runs select or poll over it
// until it is empty. Here the map is a class that also owns
//   - the poller (select, poll or epoll; chosen by the first loop() that runs it),
//   - the timers (medusa's event_loop.schedule, folded into the poller's timeout),
//   - the graveyard: channels taken out of the map are destroyed at the end of the loop pass,
//     never inside their own handler.
//
// Ownership: the map holds every live channel by std::shared_ptr. Nothing else should own a
// channel; hold a std::weak_ptr and lock() it when you need it. A channel that leaves the map
// (close() or del_channel()) lives until the end of the current pass, then goes away unless
// someone still holds a shared_ptr to it (a hand-off to a thread does, on purpose).
//
// Interest: asyncore asks every channel readable()/writable() before each select. That costs
// O(channels) per pass, which defeats epoll with 10,000 idle connections. This map asks a
// channel only when something may have changed its answer: when it is added, after each event it
// handles, and when it calls update_interest() (push(), close_when_done(), set_terminator() and
// the other async_chat calls do this for you). A channel whose predicates depend on anything else
// (a clock, another object) calls update_interest() when that changes. The rule is the same for
// every backend, so a program behaves the same on select, poll and epoll.
//
// Threads: one thread runs loop() on a map and owns it and every channel in it. Another thread
// reaches a channel only through thread/select_trigger's pull_trigger().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "asyncore/fd_table.h"
#include "asyncore/poller.h"

namespace medusa {

class dispatcher;

using clock = std::chrono::steady_clock;
using timer_id = uint64_t;

class socket_map {
public:
    explicit socket_map(backend b = default_backend());
    ~socket_map();
    socket_map(const socket_map&) = delete;
    socket_map& operator=(const socket_map&) = delete;

    // --- the map ---------------------------------------------------------------------------
    // Called by dispatcher::add_channel / del_channel; rarely by users directly.
    // add() throws std::system_error (and leaves the map unchanged) when the poller cannot hold
    // the descriptor, e.g. select with fd >= FD_SETSIZE.
    void add(int fd, std::shared_ptr<dispatcher> d);
    // Takes the channel out now; it is destroyed at the end of the pass (see graveyard above).
    void remove(int fd);
    std::shared_ptr<dispatcher> get(int fd) const;
    size_t size() const { return channels_.size(); }
    bool empty() const { return channels_.empty(); }
    // A snapshot of the channels, for status pages and close_all().
    std::vector<std::shared_ptr<dispatcher>> channels() const;

    // Ask this descriptor's readable()/writable() again before the next wait.
    void update_interest(int fd);
    // Run the channel's read handler now, as if the poller had reported the descriptor
    // readable, when its readable() says it wants input. For a connection just accepted: the
    // client's first request usually arrives with the handshake, and reading it at once serves
    // it in this pass, without waiting for a pass of its own (and a short-lived connection may
    // be done before it is ever registered with the kernel). Input that is not there yet costs
    // one recv(2) that finds nothing; the poller reports it later as usual. Handler errors are
    // handled as in a pass (handle_close or handle_error). Nothing on the io_uring backend,
    // which reads a stream socket only through its own submissions.
    void read_now(int fd);

    // The io_uring poller when it does this descriptor's I/O (a stream socket on the uring
    // backend; see uring_poller.h), else null: then the caller uses the system calls itself.
    uring_poller* ring_for(int fd) const { return ring_ ? ring_stream(fd) : nullptr; }

    // --- the loop ----------------------------------------------------------------------------
    // One pass: evaluate changed interest, wait up to `timeout` (shortened to the next timer),
    // deliver events, run due timers, then destroy what left the map. Returns the number of
    // events delivered.
    int poll_once(std::optional<clock::duration> timeout);
    // The time the last wait returned (clock::now() before the first): what a handler needs when
    // it stamps activity ("last used at"), without a clock read per event. (libevent's
    // event_base_gettimeofday_cached, nginx's ngx_current_msec.) Timers use the real clock.
    clock::time_point now() const { return now_; }

    // Ask loop() to return after the current pass (from a handler, a timer or a thunk).
    void stop() { stop_requested_ = true; }
    bool stopping() const { return stop_requested_; }

    backend kind() const;
    // Change the backend. Only while no loop() is running on this map; re-registers every fd.
    void set_backend(backend b);

    // The thread currently running loop() on this map (default-constructed id when none).
    std::thread::id loop_thread() const { return loop_thread_; }
    bool in_loop_thread() const { return loop_thread_ == std::this_thread::get_id(); }

    // --- timers (medusa's event_loop.schedule) -------------------------------------------------
    // Call these from the loop thread (or before loop() starts); another thread schedules
    // through pull_trigger(). A timer runs after the pass's events, and the wait never outlasts
    // the next one due.
    // Run fn once, `delay` from now, in the loop thread. An exception from fn is logged.
    timer_id call_later(clock::duration delay, std::function<void()> fn);
    // Run fn every `period`, the first time one period from now, until cancelled.
    timer_id call_every(clock::duration period, std::function<void()> fn);
    // Cancel a timer; returns false if it had already run (once) or was unknown.
    bool cancel(timer_id id);
    size_t timer_count() const;

private:
    friend void loop(std::chrono::duration<double>, std::optional<backend>, socket_map&,
                     std::optional<long>);
    friend void close_all(socket_map&);

    struct entry {
        std::shared_ptr<dispatcher> channel;
        uint64_t added_gen = 0;  // wait generation it joined in: a re-used fd skips stale events
        bool want_read = false;  // the interest the poller currently has
        bool want_write = false;
        bool dirty = false;      // queued in dirty_ to be asked readable()/writable() again
    };
    struct timer {
        clock::time_point when;
        clock::duration period;  // zero for one-shot
        timer_id id;
        std::function<void()> fn;
    };
    struct timer_later {
        bool operator()(const timer& a, const timer& b) const {
            return a.when > b.when || (a.when == b.when && a.id > b.id);
        }
    };

    void mark_dirty(int fd, entry& e);
    void refresh_interest();
    bool deliver(const ready_event& ev);  // false: stale, the channel has gone
    void handle_events(const ready_event& ev, std::shared_ptr<dispatcher> ch);
    void run_due_timers();
    void drop_cancelled_timers();
    std::optional<clock::duration> next_timer_delay();
    void bury_the_dead() {
        if (!graveyard_.empty()) bury_now();  // (inline: twice a pass, nearly always empty)
    }
    void bury_now();
    void evict_remaining();
    static void register_fd(poller& p, int fd, const dispatcher& d);
    uring_poller* ring_stream(int fd) const;

    std::unique_ptr<poller> poller_;
    uring_poller* ring_ = nullptr;  // poller_->ring(): set with poller_
    fd_table<entry> channels_;
    std::vector<int> dirty_;
    std::vector<std::shared_ptr<dispatcher>> graveyard_;
    std::vector<ready_event> ready_;
    std::vector<timer> timers_;  // a heap ordered by timer_later; may hold cancelled timers
    std::unordered_set<timer_id> live_timers_;
    timer_id next_timer_id_ = 1;
    uint64_t gen_ = 0;           // bumped each time a wait returns
    clock::time_point now_ = clock::now();  // when the last wait returned
    bool in_pass_ = false;
    bool stop_requested_ = false;
    std::thread::id loop_thread_{};
};

// The process-wide map that dispatchers join when given no other (Python's asyncore.socket_map).
socket_map& default_map();

// asyncore.loop(timeout=30.0, use_poll=False, map=None, count=None), in C++:
// run passes until the map is empty, stop() is called, or `count` passes have run. Pending
// timers do not keep the loop running (as in medusa, where only channels do); they stay
// scheduled for the next loop() on the map.
// `timeout` bounds each wait (30 s by default, as asyncore); timers shorten it.
// `b` picks the backend for this map (default: epoll on Linux).
void loop(std::chrono::duration<double> timeout = std::chrono::duration<double>(30.0),
          std::optional<backend> b = std::nullopt, socket_map& map = default_map(),
          std::optional<long> count = std::nullopt);

// Close every channel in the map (asyncore.close_all); the map is empty afterwards.
void close_all(socket_map& map = default_map());

}  // namespace medusa
