// socket_map.cc: the channel map, one loop pass, timers, and loop()/close_all().
#include "asyncore/socket_map.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "asyncore/dispatcher.h"
#include "asyncore/uring_poller.h"

namespace medusa {

namespace {

// asyncore's _DISCONNECTED: errors that mean "the peer has gone", which end in handle_close()
// rather than handle_error().
bool is_disconnect(const std::error_code& ec) {
    if (ec.category() != std::system_category() && ec.category() != std::generic_category())
        return false;
    switch (ec.value()) {
    case ECONNRESET: case ENOTCONN: case ESHUTDOWN: case ECONNABORTED: case EPIPE: case EBADF:
        return true;
    default:
        return false;
    }
}

std::string describe(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown exception";
    }
}

// handle_error() itself failed: the last resort logs and closes, so one bad channel still
// cannot take the loop down.
void last_resort(dispatcher& d, std::exception_ptr e) {
    write_log_line(fmt::format("error: handle_error failed in channel at {}: {}",
                               static_cast<const void*>(&d), describe(e)));
    try {
        d.close();
    } catch (...) {
    }
}

void report(dispatcher& d, std::exception_ptr e) {
    try {
        d.handle_error(e);
    } catch (...) {
        last_resort(d, std::current_exception());
    }
}

// asyncore's readwrite(): run one hook; a disconnect becomes handle_close(), anything else
// handle_error(). Nothing escapes into the loop.
template <class F>
void guarded(dispatcher& d, F&& f) {
    try {
        f();
        return;
    } catch (const std::system_error& e) {
        if (!is_disconnect(e.code())) {
            report(d, std::current_exception());
            return;
        }
    } catch (...) {
        report(d, std::current_exception());
        return;
    }
    try {
        d.handle_close();
    } catch (...) {
        report(d, std::current_exception());
    }
}

// Round a wait up to whole milliseconds: rounding down would wake a moment before the timer is
// due and spin through zero-length waits until it is.
int to_timeout_ms(std::optional<clock::duration> d) {
    if (!d) return -1;
    if (*d <= clock::duration::zero()) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*d).count();
    return ms > 24L * 3600 * 1000 ? 24 * 3600 * 1000 : static_cast<int>(ms);
}

}  // namespace

socket_map::socket_map(backend b) : poller_(make_poller(b)), ring_(poller_->ring()) {}

socket_map::~socket_map() {
    // Channels still here are closed, as asyncore's close_all() would; one still held elsewhere
    // (a hand-off) has left the map already and keeps its descriptor.
    try {
        close_all(*this);
    } catch (...) {
    }
    bury_the_dead();
}

// --- the map -----------------------------------------------------------------------------------

void socket_map::add(int fd, std::shared_ptr<dispatcher> d) {
    if (!d) throw std::invalid_argument("socket_map::add: null channel");
    if (channels_.contains(fd))
        throw std::logic_error(fmt::format("socket_map::add: fd {} is already in the map", fd));
    register_fd(*poller_, fd, *d);  // may throw (select, fd >= FD_SETSIZE): the map stays as it was
    try {
        auto& e = channels_.insert(fd);
        e.channel = std::move(d);
        e.added_gen = gen_;
        mark_dirty(fd, e);
    } catch (...) {
        poller_->remove(fd);
        throw;
    }
}

void socket_map::remove(int fd) {
    entry* e = channels_.find(fd);
    if (!e) return;
    poller_->remove(fd);
    // Not destroyed here: remove() is usually called from inside the channel's own handler.
    graveyard_.push_back(std::move(e->channel));
    channels_.erase(fd);
}

void socket_map::register_fd(poller& p, int fd, const dispatcher& d) {
    if (d.stream_)
        p.add_stream(fd);
    else
        p.add(fd);
}

uring_poller* socket_map::ring_stream(int fd) const { return ring_->is_stream(fd) ? ring_ : nullptr; }

std::shared_ptr<dispatcher> socket_map::get(int fd) const {
    const entry* e = channels_.find(fd);
    return e ? e->channel : nullptr;
}

std::vector<std::shared_ptr<dispatcher>> socket_map::channels() const {
    std::vector<std::shared_ptr<dispatcher>> v;
    v.reserve(channels_.size());
    channels_.for_each([&](int, const entry& e) { v.push_back(e.channel); });
    return v;
}

void socket_map::mark_dirty(int fd, entry& e) {
    if (e.dirty) return;
    e.dirty = true;
    dirty_.push_back(fd);
}

void socket_map::update_interest(int fd) {
    if (entry* e = channels_.find(fd)) mark_dirty(fd, *e);
}

backend socket_map::kind() const { return poller_->kind(); }

void socket_map::set_backend(backend b) {
    if (b == kind()) return;
    if (loop_thread_ != std::thread::id{})
        throw std::logic_error("socket_map::set_backend: a loop() is running on this map");
    auto p = make_poller(b);
    // Throws before anything changed. (Bytes an old io_uring poller delivered but nobody read
    // are lost with it: change backends before the loop first runs.)
    channels_.for_each([&](int fd, entry& e) { register_fd(*p, fd, *e.channel); });
    poller_ = std::move(p);
    ring_ = poller_->ring();
    // The new poller knows no interest yet: ask every channel again.
    channels_.for_each([&](int fd, entry& e) {
        e.want_read = e.want_write = false;
        mark_dirty(fd, e);
    });
}

// --- one pass ----------------------------------------------------------------------------------

void socket_map::refresh_interest() {
    // Index loop: readable()/writable() or handle_error() may add to dirty_ as we go.
    for (size_t i = 0; i < dirty_.size(); ++i) {
        int fd = dirty_[i];
        entry* e = channels_.find(fd);
        if (!e || !e->dirty) continue;
        e->dirty = false;
        // (No reference taken: this runs inside a pass, so a predicate that closes its channel
        // sends it to the graveyard, which is not emptied before the pass ends.)
        dispatcher* ch = e->channel.get();
        bool r = false, w = false;
        guarded(*ch, [&] {
            r = ch->wants_read();
            w = ch->wants_write();
        });
        // The predicates may have closed the channel or changed the map: look again.
        e = channels_.find(fd);
        if (!e || e->channel.get() != ch) continue;
        if (r != e->want_read || w != e->want_write) {
            poller_->set_interest(fd, r, w);
            e->want_read = r;
            e->want_write = w;
        }
    }
    dirty_.clear();
}

bool socket_map::deliver(const ready_event& ev) {
    // The map is the truth about liveness: an earlier handler in this pass may have closed this
    // descriptor, and another channel may even have been given the same number since.
    entry* e = channels_.find(ev.fd);
    if (!e || e->added_gen == gen_) return false;
    handle_events(ev, e->channel);
    return true;
}

void socket_map::handle_events(const ready_event& ev, std::shared_ptr<dispatcher> ch) {
    // `ch` keeps the channel alive until we are done with it. Entries may move (the table grows
    // when a handler accepts): look the fd up again each time.
    auto still_here = [&] {
        entry* j = channels_.find(ev.fd);
        return j && j->channel == ch && !ch->closed();
    };
    if (ev.readable) guarded(*ch, [&] { ch->handle_read_event(); });
    if (ev.writable && still_here()) guarded(*ch, [&] { ch->handle_write_event(); });
    if (ev.expt && still_here()) guarded(*ch, [&] { ch->handle_expt_event(); });
    // A hang-up with nothing to read: nobody else will tell the channel (POLLHUP without
    // POLLIN, e.g. a peer gone while the channel was not reading).
    if (ev.hangup && !ev.readable && still_here()) guarded(*ch, [&] { ch->handle_close(); });
    // Its answers to readable()/writable() may have changed.
    entry* j = channels_.find(ev.fd);
    if (j && j->channel == ch) mark_dirty(ev.fd, *j);
}

void socket_map::read_now(int fd) {
    entry* e = channels_.find(fd);
    if (!e || ring_for(fd)) return;
    std::shared_ptr<dispatcher> ch = e->channel;
    bool wants = false;
    guarded(*ch, [&] { wants = !ch->closed() && ch->wants_read(); });
    // (The predicate may have closed the channel or changed the map.)
    e = channels_.find(fd);
    if (wants && e && e->channel == ch) handle_events({fd, true, false, false, false}, std::move(ch));
}

void socket_map::bury_now() {
    // A destructor may close other channels and refill the graveyard; repeat until quiet.
    while (!graveyard_.empty()) {
        std::vector<std::shared_ptr<dispatcher>> dead;
        dead.swap(graveyard_);
        dead.clear();
    }
}

int socket_map::poll_once(std::optional<clock::duration> timeout) {
    bury_the_dead();  // from close() calls made outside any pass
    in_pass_ = true;
    struct end_pass {
        socket_map& m;
        ~end_pass() {
            m.in_pass_ = false;
            m.bury_the_dead();
        }
    } guard{*this};

    refresh_interest();
    if (auto t = next_timer_delay(); t && (!timeout || *t < *timeout)) timeout = t;

    ready_.clear();
    poller_->wait(to_timeout_ms(timeout), ready_);
    ++gen_;  // channels added from here on are new to this pass's events
    now_ = clock::now();

    int delivered = 0;
    for (const ready_event& ev : ready_) delivered += deliver(ev);
    run_due_timers();
    return delivered;
}

// --- timers ------------------------------------------------------------------------------------

timer_id socket_map::call_later(clock::duration delay, std::function<void()> fn) {
    timer_id id = next_timer_id_++;
    timers_.push_back({clock::now() + delay, clock::duration::zero(), id, std::move(fn)});
    std::push_heap(timers_.begin(), timers_.end(), timer_later{});
    live_timers_.insert(id);
    return id;
}

timer_id socket_map::call_every(clock::duration period, std::function<void()> fn) {
    if (period <= clock::duration::zero())
        throw std::invalid_argument("socket_map::call_every: the period must be positive");
    timer_id id = next_timer_id_++;
    timers_.push_back({clock::now() + period, period, id, std::move(fn)});
    std::push_heap(timers_.begin(), timers_.end(), timer_later{});
    live_timers_.insert(id);
    return id;
}

bool socket_map::cancel(timer_id id) {
    if (live_timers_.erase(id) == 0) return false;
    // The heap entry stays until it comes due or the heap is mostly dead; a server that sets and
    // cancels a timeout per request would otherwise keep every cancelled one until it expires.
    if (timers_.size() > 64 && timers_.size() > 2 * live_timers_.size()) {
        std::erase_if(timers_, [&](const timer& t) { return !live_timers_.count(t.id); });
        std::make_heap(timers_.begin(), timers_.end(), timer_later{});
    }
    return true;
}

size_t socket_map::timer_count() const { return live_timers_.size(); }

void socket_map::drop_cancelled_timers() {
    // Every heap entry live (no more entries than live timers, the usual case): no look-up.
    // (While a timer's callback runs a loop of its own, live timers taken out of the heap to run
    // may hide a dead one here; it then wakes the wait once and is skipped when due.)
    if (timers_.size() <= live_timers_.size()) return;
    while (!timers_.empty() && !live_timers_.count(timers_.front().id)) {
        std::pop_heap(timers_.begin(), timers_.end(), timer_later{});
        timers_.pop_back();
    }
}

std::optional<clock::duration> socket_map::next_timer_delay() {
    drop_cancelled_timers();
    if (timers_.empty()) return std::nullopt;
    return std::max(timers_.front().when - clock::now(), clock::duration::zero());
}

void socket_map::run_due_timers() {
    // Take what is due now first, so a timer that schedules another for "now" runs it next
    // pass instead of looping here forever.
    auto now = clock::now();
    std::vector<timer> due;
    while (!timers_.empty() && timers_.front().when <= now) {
        std::pop_heap(timers_.begin(), timers_.end(), timer_later{});
        due.push_back(std::move(timers_.back()));
        timers_.pop_back();
    }
    for (timer& t : due) {
        if (!live_timers_.count(t.id)) continue;  // cancelled, possibly by a timer before it
        bool once = t.period == clock::duration::zero();
        if (once) live_timers_.erase(t.id);  // so cancel() from inside fn returns false
        try {
            t.fn();
        } catch (...) {
            write_log_line(fmt::format("error: uncaptured exception in timer {}: {}", t.id,
                                       describe(std::current_exception())));
        }
        if (once || !live_timers_.count(t.id)) continue;
        // A periodic timer keeps its cadence; after a stall it skips the missed beats rather
        // than firing them in a burst.
        t.when += t.period;
        if (t.when <= clock::now()) t.when = clock::now() + t.period;
        timers_.push_back(std::move(t));
        std::push_heap(timers_.begin(), timers_.end(), timer_later{});
    }
}

// --- loop --------------------------------------------------------------------------------------

socket_map& default_map() {
    // Never destroyed: channels, log sinks and other statics may still reach it while the
    // process exits, and the kernel closes the descriptors anyway.
    static socket_map* m = new socket_map();
    return *m;
}

void loop(std::chrono::duration<double> timeout, std::optional<backend> b, socket_map& map,
          std::optional<long> count) {
    if (map.loop_thread_ != std::thread::id{})
        throw std::logic_error(map.in_loop_thread()
                                   ? "loop(): called from inside a loop on the same map"
                                   : "loop(): another thread is already running this map");
    if (b) map.set_backend(*b);
    auto wait = std::chrono::duration_cast<clock::duration>(
        std::max(timeout, std::chrono::duration<double>::zero()));

    map.loop_thread_ = std::this_thread::get_id();
    map.stop_requested_ = false;
    struct leave {
        socket_map& m;
        ~leave() { m.loop_thread_ = std::thread::id{}; }
    } guard{map};

    // As asyncore: the loop lives while the map has channels. Timers alone do not keep it
    // running (a client's "give up after 10 s" timer must not hold loop() open once its
    // connections are done); timers still pending are kept for the next loop().
    long left = count.value_or(1);
    // (io_uring: sends of channels already closed are still in flight; they finish first.)
    while ((!map.empty() || map.poller_->pending()) && !map.stop_requested_ && left > 0) {
        map.poll_once(wait);
        if (count) --left;
    }
}

void close_all(socket_map& map) {
    for (auto& ch : map.channels()) {
        try {
            ch->close();
        } catch (const std::exception& e) {
            write_log_line(fmt::format("error: close_all: {}", e.what()));
        }
    }
    map.evict_remaining();
    if (!map.in_pass_) map.bury_the_dead();
}

void socket_map::evict_remaining() {
    // A close() override that forgot to call dispatcher::close() must not keep the channel
    // here; it is told it has left, so a later close() cannot remove a stranger at its fd.
    for (int fd = 0; fd < channels_.limit() && !channels_.empty(); ++fd) {
        if (entry* e = channels_.find(fd)) {
            e->channel->in_map_ = false;
            remove(fd);
        }
    }
}

}  // namespace medusa
