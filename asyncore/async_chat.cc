// async_chat: asynchat.py's terminator framing and producer fifo, with writev/sendfile output,
// back-pressure and pausing (see async_chat.h for the contract).
#include "asyncore/async_chat.h"

#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "asyncore/buffer_stock.h"
#include "asyncore/uring_poller.h"

namespace medusa {

namespace {

// Pieces gathered into one writev(2). IOV_MAX is 1024 on Linux; a reply is a handful of pieces,
// and a queue of many small pushes is still sent in few calls with 64 per call.
constexpr size_t max_iov = std::min<size_t>(64, IOV_MAX);

// Bytes one initiate_send() may send before it yields to the other channels, when the peer reads
// as fast as we write (a loopback client fetching a 1 GiB file would otherwise hold the loop).
// 256 KiB rather than 1 MiB: with 500 clients fetching 1 MiB files, smaller turns served wrk
// about 8% more replies per second (3 alternating runs each; lighttpd writes ~200 KiB a turn),
// and 1 and 50 clients lost nothing.
constexpr size_t send_budget = 256 << 10;

// Held replies (see async_chat.h): what the channel whose read is being handled has pushed, in
// a place of the loop thread's rather than in every channel (an idle channel carries one flag).
// Only that channel holds: a read handled inside its handler (a nested loop) does not.
using held_hooks = std::vector<std::pair<size_t, std::shared_ptr<send_hook>>>;
struct held_output {
    const async_chat* owner = nullptr;  // the channel in handle_read(), or none
    std::string bytes;
    // Hooks pushed in between, each with the length of the bytes before it (it is told once they
    // have gone): a reply's log hook after each pipelined reply.
    held_hooks hooks;
};
thread_local held_output held;

// What was held, taken out of `held` (which a hook may fill again while these are dealt with);
// the hooks' storage goes back afterwards, for the next reply. The usual reply holds no hook
// (its log line is not waiting on it): then only the bytes move.
struct taken_held {
    std::string bytes = std::move(held.bytes);  // (leaves held.bytes empty)
    held_hooks hooks;
    taken_held() {
        if (!held.hooks.empty()) hooks.swap(held.hooks);
    }
    [[gnu::always_inline]] ~taken_held() {
        if (hooks.capacity() != 0) give_back();  // (none taken: nothing to give back)
    }
    void give_back() {
        hooks.clear();
        if (held.hooks.empty()) hooks.swap(held.hooks);
    }
};

// More than this is not held: it goes to the socket (or the queue) at once, as before.
constexpr size_t max_held = 64 << 10;

// The empty-more() rule from producers.h.
bool finished(const producer& p) { return p.ready() && p.sendfile_source() == nullptr; }

// sendfile(2) has no MSG_NOSIGNAL: a peer that has gone raises SIGPIPE, which kills the process
// unless it is ignored. Block it in this thread around the call and swallow the one we caused.
// When SIGPIPE is ignored (a program with a file_dispatcher, e.g. medusa-demo; every Python
// program, medusa's among them), there is nothing to block. That is asked of sigaction(2) until
// the answer is "ignored", and then remembered: a program does not go back to dying of SIGPIPE,
// and the query was one system call per sendfile (a 16 KiB reply went from 9 calls to 6).
std::atomic<bool> sigpipe_known_ignored{false};

class sigpipe_blocker {
public:
    sigpipe_blocker() {
        if (sigpipe_known_ignored.load(std::memory_order_relaxed)) {
            active_ = false;
            return;
        }
        struct sigaction current {};
        if (::sigaction(SIGPIPE, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
            current.sa_handler == SIG_IGN) {
            sigpipe_known_ignored.store(true, std::memory_order_relaxed);
            active_ = false;
            return;
        }
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~sigpipe_blocker() {
        if (!active_) return;
        if (raised_ && !was_pending_) {
            timespec zero{};
            while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    void raised() { raised_ = true; }

private:
    sigset_t pipe_, old_;
    bool active_ = true;
    bool was_pending_ = false;
    bool raised_ = false;
};

}  // namespace

// --- the terminator scan ----------------------------------------------------------------------------

size_t find_prefix_at_end(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return 0;
    for (size_t l = std::min(needle.size() - 1, haystack.size()); l > 0; --l)
        if (haystack.ends_with(needle.substr(0, l))) return l;
    return 0;
}

terminator_scan find_terminator(std::string_view buf, std::string_view terminator) {
    // memmem is glibc's vectorised search; this is the whole cost of framing a large read.
    const void* hit = ::memmem(buf.data(), buf.size(), terminator.data(), terminator.size());
    if (hit) return {static_cast<size_t>(static_cast<const char*>(hit) - buf.data()), true};
    // Not here: keep back the longest prefix of the terminator that ends the buffer.
    return {buf.size() - find_prefix_at_end(buf, terminator), false};
}

// --- construction and terminators ---------------------------------------------------------------------

async_chat::async_chat(socket_map& map) : dispatcher(map) {}

async_chat::async_chat(int fd, socket_map& map) : dispatcher(map) { set_socket(fd); }

async_chat::async_chat(const accepted& conn, socket_map& map) : dispatcher(map) {
    set_socket(conn);
}

void async_chat::set_terminator(std::string_view t) {
    if (t.empty())
        terminator_ = std::monostate{};
    else
        terminator_ = std::string(t);
}

void async_chat::set_terminator(size_t count) {
    if (count == 0)
        terminator_ = std::monostate{};
    else
        terminator_ = count;
}

void async_chat::set_terminator(std::nullptr_t) { terminator_ = std::monostate{}; }

// --- input ---------------------------------------------------------------------------------------------

bool async_chat::readable() {
    // Paused, or over the high-water mark: leave the bytes in the kernel, where TCP flow control
    // slows the peer down. And as asynchat: don't read while a full buffer waits to be framed.
    if (paused_ || over_high_water_) return false;
    // (A kept prefix of a terminator longer than ac_in_buffer_size must not block reading.)
    size_t limit = ac_in_buffer_size;
    if (auto* t = std::get_if<std::string>(&terminator_)) limit = std::max(limit, t->size());
    return in_size() - in_pos_ <= limit;
}

void async_chat::handle_read() {
    if (held.owner || ring() || not_socket_) {
        read_and_frame();
        return;
    }
    // Replies pushed while this read is framed are held, and sent once it is done.
    held.owner = this;
    try {
        read_and_frame();
    } catch (...) {
        held.owner = nullptr;
        // What the handler pushed before it failed goes, as it would have at push().
        try {
            if (holding_) send_held();
        } catch (...) {
        }
        throw;
    }
    held.owner = nullptr;
    if (holding_) send_held();
}

void async_chat::read_and_frame() {
    // An event from the wait before a pause_reading() in this same pass: leave the data queued.
    if (!readable()) return;
    // This channel's last read is still being framed from the scratch space (a handler that runs
    // a loop of its own got here): leave the new bytes in the kernel until that is done.
    if (in_scratch_) return;
    compact_input();
    // Nothing unframed is waiting (the usual case: a whole request per read). An idle channel
    // holds no input buffer: read into the loop thread's scratch space and frame the bytes
    // right there; only what is left unframed (part of a record) is copied into in_buffer_.
    // (Not while the scratch is being framed already: a handler that runs a loop of its own.)
    thread_local std::string scratch;
    thread_local bool scratch_busy = false;
    if (in_buffer_.empty() && !scratch_busy) {
        if (scratch.size() < ac_in_buffer_size) scratch.resize(ac_in_buffer_size);
        ssize_t n = recv(scratch.data(), ac_in_buffer_size);
        if (n <= 0) return;  // nothing yet, or EOF/reset (handle_close has run)
        struct framing_scratch {
            async_chat& c;
            ~framing_scratch() {
                // Keep the unframed rest (it may be the start of the next record). Only out of
                // memory can make that fail, and a destructor must not throw: the rest is lost.
                try {
                    if (c.in_scratch_ && c.in_pos_ < c.in_scratch_len_)
                        c.in_buffer_.assign(c.in_scratch_ + c.in_pos_,
                                            c.in_scratch_len_ - c.in_pos_);
                } catch (...) {
                }
                c.in_scratch_ = nullptr;
                c.in_scratch_len_ = 0;
                c.in_pos_ = 0;
                scratch_busy = false;
            }
        } guard{*this};
        scratch_busy = true;
        in_scratch_ = scratch.data();
        in_scratch_len_ = static_cast<size_t>(n);
        in_pos_ = 0;
        process_input();
        return;
    }
    // A partial record is waiting: recv straight into the buffer's tail, after it.
    size_t old = in_buffer_.size();
    in_buffer_.resize(old + ac_in_buffer_size);
    ssize_t n = 0;
    try {
        n = recv(in_buffer_.data() + old, ac_in_buffer_size);
    } catch (...) {
        in_buffer_.resize(old);
        throw;
    }
    in_buffer_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n <= 0) return;  // nothing yet, or EOF/reset (handle_close has run)
    process_input();
}

void async_chat::process_input() {
    // found_terminator() may hand the socket to a thread (del_channel), close, or pause: then
    // stop at once and leave the unframed rest in the buffer for take_in_buffer().
    const bool was_in_map = in_map();
    const bool was_open = !closed();
    auto gone = [&] { return (was_in_map && !in_map()) || (was_open && closed()); };
    auto stopped = [&] { return paused_ || over_high_water_ || gone(); };

    while (in_pos_ < in_size() && !stopped()) {
        // A view of the unframed input; in_pos_ moves past what is handed out *before* the
        // callbacks run, so ac_in_buffer() inside them is the rest of the stream.
        std::string_view buf(in_data() + in_pos_, in_size() - in_pos_);

        if (auto* t = std::get_if<std::string>(&terminator_)) {
            terminator_scan s = find_terminator(buf, *t);
            if (s.found) {
                in_pos_ += s.collect + t->size();
                // Never an empty piece: "\r\n\r\n" at the very start collects nothing.
                if (s.collect > 0) collect_incoming_data(buf.substr(0, s.collect));
                if (gone()) break;
                found_terminator();  // may change the terminator: the loop re-reads it
            } else {
                // Collect up to a possible prefix of the terminator; the prefix waits for the
                // next read ("\r" now, "\n" later).
                in_pos_ += s.collect;
                if (s.collect > 0) collect_incoming_data(buf.substr(0, s.collect));
                break;
            }
        } else if (auto* count = std::get_if<size_t>(&terminator_); count && *count > 0) {
            if (buf.size() < *count) {
                *count -= buf.size();  // get_terminator(): the bytes still to come
                in_pos_ += buf.size();
                collect_incoming_data(buf);
            } else {
                size_t n = *count;
                *count = 0;  // as asynchat: 0 once it has fired
                in_pos_ += n;
                collect_incoming_data(buf.substr(0, n));
                if (gone()) break;
                found_terminator();
            }
        } else {
            // No terminator: everything is data (and the channel may unread() a tail of it).
            in_pos_ += buf.size();
            unreadable_ = buf.size();
            struct done_collecting {
                size_t& n;
                ~done_collecting() { n = 0; }
            } guard{unreadable_};
            collect_incoming_data(buf);
        }
    }
    compact_input();
}

void async_chat::unread(size_t n) {
    if (n > unreadable_ || n > in_pos_)
        throw std::logic_error(fmt::format(
            "async_chat::unread({}): only inside collect_incoming_data() with no terminator, and "
            "at most the {} bytes it was given",
            n, unreadable_));
    in_pos_ -= n;
    unreadable_ -= n;
}

void async_chat::compact_input() {
    if (in_pos_ == 0 || in_scratch_) return;  // (the scratch's rest is kept by handle_read)
    if (in_pos_ >= in_buffer_.size()) {
        // All framed: give the buffer back (an idle channel holds none; see handle_read).
        std::string().swap(in_buffer_);
        in_pos_ = 0;
    } else if (in_pos_ >= in_buffer_.size() - in_pos_) {
        // Erase only once at least half is consumed: each byte moves O(1) times on average,
        // so framing 10,000 pipelined requests one at a time (pause/resume) stays linear.
        in_buffer_.erase(0, in_pos_);
        in_pos_ = 0;
    }
}

std::string_view async_chat::ac_in_buffer() const {
    return std::string_view(in_data(), in_size()).substr(std::min(in_pos_, in_size()));
}

std::string async_chat::take_in_buffer() {
    std::string rest(ac_in_buffer());
    rest += take_delivered_input();  // read by the io_uring backend, not yet by us
    if (in_scratch_) {
        in_pos_ = in_scratch_len_;  // all taken
    } else {
        in_buffer_.clear();
        in_pos_ = 0;
    }
    interest_changed();
    return rest;
}

// --- pausing -------------------------------------------------------------------------------------------

void async_chat::pause_reading() {
    if (paused_) return;
    paused_ = true;
    interest_changed();
}

void async_chat::resume_reading() {
    if (!paused_) return;
    paused_ = false;
    interest_changed();
    schedule_framing();
}

void async_chat::schedule_framing() {
    // Frame buffered input from the loop, never from inside the caller: resume_reading() is
    // often called from a handler that is itself inside found_terminator() of this channel.
    if (resume_scheduled_ || in_pos_ >= in_size() || !in_map()) return;
    std::weak_ptr<dispatcher> weak = weak_from_this();
    if (weak.expired()) return;
    resume_scheduled_ = true;
    map().call_later(clock::duration::zero(), [weak] {
        auto self = weak.lock();
        if (!self) return;  // destroyed meanwhile
        auto* chat = static_cast<async_chat*>(self.get());
        chat->resume_scheduled_ = false;
        if (!chat->in_map() || chat->closed()) return;  // closed or handed off meanwhile
        chat->process_input();
        chat->interest_changed();
    });
}

void async_chat::interest_changed() {
    if (in_map()) update_interest();
}

// --- output: the queue ---------------------------------------------------------------------------------

void async_chat::push(std::string data) {
    if (data.empty()) return;
    if (held.owner == this && hold(data)) return;
    size_t n = data.size();
    if (out_queue_.empty() && !corked_ && !closed()) {
        // Nothing ahead of these bytes: they need not wait in the queue. (A channel with no
        // socket yet queues them, to go once it connects.)
        size_t went = send_direct(data);
        if (went == n || closed()) {  // (closed now: the peer has gone, and its bytes with it)
            buffer_stock::give(std::move(data));
            return;
        }
        if (went > 0) {
            out_queue_.push_back(out_item{std::move(data), went, nullptr, false, nullptr, nullptr});
            out_bytes_ += n - went;
            output_added();
            interest_changed();  // the rest waits for the socket to be writable
            return;
        }
    }
    // Small pieces pushed one after another (status line, headers) join the previous piece, so
    // the queue stays short; large ones keep their own buffer (no copy).
    if (!out_queue_.empty()) {
        out_item& back = out_queue_.back();
        if (back.is_bytes() && !back.shared && n <= 512 && back.data.size() - back.pos + n <= 16384) {
            back.data += data;
            buffer_stock::give(std::move(data));
            out_bytes_ += n;
            output_added();
            if (!corked_) initiate_send();
            return;
        }
    }
    out_queue_.push_back(out_item{std::move(data), 0, nullptr, false, nullptr, nullptr});
    out_bytes_ += n;
    output_added();
    if (!corked_) initiate_send();
}

void async_chat::push(std::shared_ptr<const std::string> data) {
    if (!data || data->empty()) return;
    if (holding_) spill_held();
    size_t n = data->size();
    out_queue_.push_back(out_item{{}, 0, nullptr, false, std::move(data), nullptr});
    out_bytes_ += n;
    output_added();
    if (!corked_) initiate_send();
}

void async_chat::push_with_producer(producer_ptr p) {
    if (!p) return;
    if (holding_) spill_held();
    out_queue_.push_back(out_item{{}, 0, std::move(p), false, nullptr, nullptr});
    if (!corked_) initiate_send();
}

void async_chat::push_hook(std::shared_ptr<send_hook> h) {
    if (!h) return;
    if (holding_ && !corked_) {
        held.hooks.emplace_back(held.bytes.size(), std::move(h));  // due once these have gone
        return;
    }
    if (holding_) spill_held();
    out_queue_.push_back(out_item{{}, 0, nullptr, false, nullptr, std::move(h)});
    if (!corked_) initiate_send();
}

void async_chat::close_when_done() {
    // Queued like any output; send_queue() closes when it reaches it, i.e. after everything
    // pushed before it has gone, however long that takes.
    if (holding_) spill_held();
    out_queue_.push_back(out_item{{}, 0, nullptr, true, nullptr, nullptr});
    interest_changed();
}

void async_chat::shutdown_when_done() {
    if (holding_) spill_held();
    out_queue_.push_back(out_item{{}, 0, nullptr, false, nullptr, nullptr, true});
    if (!corked_) initiate_send();
}

void async_chat::discard_buffers() {
    if (holding_) send_held();  // (they would have gone at push() but for the holding)
    in_buffer_.clear();
    in_pos_ = in_scratch_ ? in_scratch_len_ : 0;
    release_output();
    interest_changed();
}

bool async_chat::output_empty() const { return out_queue_.empty() && !holding_ && !sending(); }

bool async_chat::hold(std::string& data) {
    const size_t n = data.size();
    if (holding_) {
        // Under a cork, or too much already: what is held goes to the queue, these bytes after it.
        if (corked_ || held.bytes.size() + data.size() > max_held) {
            spill_held();
            return false;
        }
        held.bytes += data;
        buffer_stock::give(std::move(data));
    } else {
        // Only with nothing queued ahead (the bytes would overtake it) and a socket to send on.
        if (!out_queue_.empty() || corked_ || closed() || !connected() || data.size() > max_held)
            return false;
        held.bytes = std::move(data);
        holding_ = true;
        interest_changed();  // (writable() says so to a loop the handler may run)
    }
    out_bytes_ += n;
    output_added();
    return true;
}

void async_chat::queue_held(std::string bytes, size_t gone, held_hooks& hooks) {
    // Held bytes are always the oldest output (holding starts with an empty queue, and anything
    // queued after them spills them first): what has not gone goes to the queue, each hook not
    // yet due between the bytes before it and those after (two hooks in a row share an offset).
    size_t pos = gone;
    for (auto& [at, hook] : hooks) {
        if (at <= gone) continue;  // due already: the caller tells it
        if (at > pos)
            out_queue_.push_back(out_item{bytes.substr(pos, at - pos), 0, nullptr, false, nullptr, nullptr});
        out_queue_.push_back(out_item{{}, 0, nullptr, false, nullptr, std::move(hook)});
        pos = at;
    }
    if (pos < bytes.size())
        out_queue_.push_back(out_item{std::move(bytes), pos, nullptr, false, nullptr, nullptr});
}

void async_chat::spill_held() {
    holding_ = false;
    taken_held t;
    queue_held(std::move(t.bytes), 0, t.hooks);
}

void async_chat::send_held() {
    // Sent now, not held again: what this channel pushes from here on (a hook's output, the rest
    // of a close) takes the ordinary way.
    holding_ = false;
    held.owner = nullptr;
    taken_held t;
    if (closed()) return;
    const size_t went = send_direct(t.bytes);
    if (closed()) return;  // the peer has gone (send_direct closed the channel): hooks untold
    bytes_sent(went);
    if (went < t.bytes.size()) {
        // The rest waits for the socket to be writable, queued before any hook is told: what a
        // hook pushes comes after it.
        queue_held(std::move(t.bytes), went, t.hooks);
        interest_changed();
    } else {
        buffer_stock::give(std::move(t.bytes));
    }
    for (auto& [at, hook] : t.hooks) {
        if (closed()) break;  // a hook closed the channel: the others are not told (send_queue)
        if (hook && at <= went) hook->sent();
    }
}

void async_chat::release_output() {
    if (holding_) {
        holding_ = false;
        held.bytes.clear();
        held.hooks.clear();  // (untold, as hooks in the queue)
    }
    // Called from inside initiate_send (a producer's hook calling close() or discard_buffers()),
    // the producer that is running must outlive its own more(): park the queue until the end.
    if (in_send_)
        while (!out_queue_.empty()) {
            dropped_.push_back(std::move(out_queue_.front()));
            out_queue_.pop_front();
        }
    out_queue_.clear();
    out_bytes_ = 0;
    if (over_high_water_) {
        over_high_water_ = false;
        interest_changed();
    }
}

void async_chat::output_added() {
    if (!over_high_water_ && out_bytes_ > high_water_mark) {
        over_high_water_ = true;  // readable() is false from now on
        interest_changed();
    }
}

void async_chat::bytes_sent(size_t n) {
    out_bytes_ -= std::min(n, out_bytes_);
    if (over_high_water_ && out_bytes_ < low_water_mark) {
        over_high_water_ = false;
        interest_changed();
        schedule_framing();  // requests that arrived meanwhile wait in the input buffer
    }
}

bool async_chat::writable() {
    if (connecting()) return true;  // the connect completes with the first writable event
    // Held output goes when the read handler returns; a loop the handler runs meanwhile (waiting
    // for its own output to leave) sends it from the writable event, as it would a queue.
    if (holding_) return true;
    if (out_queue_.empty()) return false;
    const out_item& head = out_queue_.front();
    // A producer with nothing yet stalls the queue until someone calls update_interest().
    return !head.prod || head.prod->ready();
}

void async_chat::handle_write() { initiate_send(); }

void async_chat::handle_close() { close(); }

void async_chat::leaving_map() {
    // Handed to another owner (del_channel): what is held goes now, while the socket is ours.
    if (holding_) send_held();
}

void async_chat::close() {
    // Held bytes would have gone at push() but for the holding: they go now, before the close.
    if (holding_) send_held();
    // On io_uring a hook waits at the head of the queue for the send before it to complete (see
    // send_queue). When that send has completed well, the hook is due even if the channel closes
    // before its writable event is handled (the peer read the reply and closed, both news in one
    // pass): tell it now, before the queue goes.
    while (!in_send_ && !out_queue_.empty() && out_queue_.front().hook && ring() && !sending() &&
           !send_failed()) {
        std::shared_ptr<send_hook> hook = std::move(out_queue_.front().hook);
        out_queue_.pop_front();
        hook->sent();
    }
    dispatcher::close();
    // Producers may hold files; let them go now rather than when the channel is destroyed.
    release_output();
}

// --- output: sending -------------------------------------------------------------------------------------

void async_chat::initiate_send() {
    // A producer's hook that pushes output lands here again: the outer call carries on.
    if (in_send_) return;
    if (holding_) spill_held();
    struct sending {
        async_chat& c;
        explicit sending(async_chat& ch) : c(ch) { c.in_send_ = true; }
        ~sending() {
            c.in_send_ = false;
            c.dropped_.clear();
            c.dropped_.release();
            c.out_queue_.release();  // a channel with nothing to send holds no queue storage
        }
    } guard(*this);
    send_queue();
    interest_changed();
}

void async_chat::send_queue() {
    if (closed() || !connected()) return;  // not connected yet: queued until handle_connect
    size_t budget = send_budget;
    while (!out_queue_.empty() && !closed() && budget > 0) {
        out_item& head = out_queue_.front();
        if (head.close) {
            // Everything queued before close_when_done() has been sent.
            out_queue_.pop_front();
            close();
            return;
        }
        if (head.shutdown) {
            out_queue_.pop_front();
            shutdown_write();
            continue;
        }
        if (head.hook) {
            // Everything before it has gone. On io_uring that is when the send in flight has
            // completed (its completion is the writable event that brings us back), and
            // completed well: after a failed one the channel closes at its hang-up with the hook
            // untold, as EPIPE from send(2) closes it on the other backends.
            if (sending() || send_failed()) return;
            // (Off the queue first: the hook may push or close.)
            std::shared_ptr<send_hook> hook = std::move(head.hook);
            out_queue_.pop_front();
            hook->sent();
            continue;
        }
        if (!head.prod) {
            size_t before = out_bytes_;
            send_result r = send_bytes(budget);
            budget -= std::min(budget, before - out_bytes_);
            if (r != send_result::progress) return;
            continue;
        }

        producer* p = head.prod.get();
        if (!p->ready()) return;  // stalled: writable() is false until update_interest()
        if (const auto* range = p->sendfile_source(); range && range->length > 0) {
            uint64_t before = range->length;
            send_result r = send_file(*p, *range, budget);
            if (r == send_result::failed) return;
            const auto* after = p->sendfile_source();
            budget -= std::min<uint64_t>(budget, before - (after ? after->length : 0));
            if (r == send_result::blocked) return;
            continue;
        }

        // Ask the producer for about ac_out_buffer_size bytes: we get here only when the socket
        // took everything so far, so it can take more.
        std::string chunk;
        bool exhausted = false;
        while (chunk.size() < ac_out_buffer_size) {
            if (!p->ready()) break;
            if (const auto* range = p->sendfile_source(); range && range->length > 0) break;
            std::string d = p->more();
            if (closed()) return;  // a hook closed the channel
            if (out_queue_.empty() || out_queue_.front().prod.get() != p) break;  // discarded
            if (d.empty()) {
                exhausted = finished(*p);
                break;
            }
            if (chunk.empty())
                chunk = std::move(d);
            else
                chunk += d;
        }
        if (out_queue_.empty() || out_queue_.front().prod.get() != p) continue;  // discarded
        if (exhausted) out_queue_.pop_front();
        if (!chunk.empty()) {
            // The produced bytes go ahead of their producer (or of what followed it).
            out_bytes_ += chunk.size();
            out_queue_.push_front(out_item{std::move(chunk), 0, nullptr, false, nullptr, nullptr});
            output_added();
            continue;
        }
        if (exhausted) continue;
        if (!p->ready()) return;  // stalled with nothing produced
        // Otherwise a file range is next: the loop sends it.
    }
}

size_t async_chat::send_direct(std::string_view data) {
    if (in_send_ || not_socket_ || data.size() > send_budget || closed() || !connected() || ring())
        return 0;
    for (;;) {
        ssize_t n = ::send(fileno(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == EINTR) continue;
        // A pipe, or a full socket: the queue's path deals with both. A peer that has gone
        // closes the channel here (send_error), as it would there.
        if (errno != ENOTSOCK) send_error(errno, "send");
        return 0;
    }
}

async_chat::send_result async_chat::send_bytes(size_t budget) {
    // Gather the consecutive byte pieces at the head into one writev.
    iovec iov[max_iov];
    size_t count = 0, total = 0;
    out_queue_.for_each([&](const out_item& item) {
        if (!item.is_bytes() || count == max_iov || total >= budget) return false;
        std::string_view b = item.bytes();
        iov[count].iov_base = const_cast<char*>(b.data() + item.pos);
        iov[count].iov_len = b.size() - item.pos;
        total += iov[count].iov_len;
        ++count;
        return true;
    });
    // A header block followed by a file sent with sendfile(2): MSG_MORE lets the kernel put the
    // head and the file's first bytes in one segment instead of sending the head alone (with
    // TCP_NODELAY it would leave at once as a small packet of its own).
    bool file_follows = false, fin_follows = false;
    if (count < out_queue_.size() && total < budget) {
        const out_item& next = out_queue_[count];
        file_follows = next.prod && next.prod->ready() && next.prod->sendfile_source() != nullptr;
        // The same for a half-close (past the hooks before it, which send nothing): shutdown(2)
        // puts the FIN on the held segment and sends it.
        for (size_t i = count; i < out_queue_.size() && !fin_follows; ++i) {
            const out_item& it = out_queue_[i];
            if (!it.hook && !it.shutdown) break;
            fin_follows = it.shutdown;
        }
    }
    ssize_t n;
    // On the io_uring backend the bytes are queued with the next submission, unless a file
    // follows: then send(2) with MSG_MORE below, as on the other backends (nothing of ours is
    // in flight, so the order holds).
    uring_poller* u = ring();
    if (u) {
        if (u->busy(fileno())) return send_result::blocked;
        if (!file_follows) {
            // (The ring copies at most uring_poller::max_send of it: the rest waits its turn.)
            n = u->send(fileno(), iov, count, 0);
            if (n < 0) return send_error(errno, "send");
            return sent(static_cast<size_t>(n), total);
        }
    }
    for (;;) {
        if (!not_socket_) {
            // sendmsg (or send) rather than writev: only they take MSG_NOSIGNAL (a vanished peer
            // gives EPIPE, not a SIGPIPE that kills the server).
            const int flags = MSG_NOSIGNAL | (file_follows || fin_follows ? MSG_MORE : 0);
            if (count == 1) {
                // One piece (a small reply gathered into one buffer): send(2) spares the kernel
                // copying in a msghdr and an iovec array.
                n = ::send(fileno(), iov[0].iov_base, iov[0].iov_len, flags);
            } else {
                msghdr msg{};
                msg.msg_iov = iov;
                msg.msg_iovlen = count;
                n = ::sendmsg(fileno(), &msg, flags);
            }
            if (n < 0 && errno == ENOTSOCK) {
                not_socket_ = true;  // a pipe: plain writev from now on
                continue;
            }
        } else {
            n = ::writev(fileno(), iov, static_cast<int>(count));
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    send_result r = n < 0 ? send_error(errno, not_socket_ ? "writev" : count == 1 ? "send" : "sendmsg")
                          : sent(static_cast<size_t>(n), total);
    // Our own call found the socket full: on io_uring, only a poll can say when it has room.
    if (r == send_result::blocked && u) u->wait_writable(fileno());
    return r;
}

async_chat::send_result async_chat::sent(size_t n, size_t total) {
    // Drop what went; advance into a piece sent in part.
    size_t left = n;
    while (left > 0) {
        out_item& item = out_queue_.front();
        size_t avail = item.bytes().size() - item.pos;
        if (left < avail) {
            item.pos += left;
            break;
        }
        left -= avail;
        buffer_stock::give(std::move(item.data));  // the next reply is built in it
        out_queue_.pop_front();
    }
    bytes_sent(n);
    return n == total ? send_result::progress : send_result::blocked;
}

async_chat::send_result async_chat::send_file(producer& p, const producer::file_range& r,
                                              size_t budget) {
    // On the io_uring backend, sendfile(2) waits for our bytes in flight to have gone first.
    uring_poller* u = ring();
    if (u && u->busy(fileno())) return send_result::blocked;
    size_t want = static_cast<size_t>(std::min<uint64_t>(r.length, std::max<size_t>(budget, 1)));
    off_t offset = r.offset;
    ssize_t n;
    {
        sigpipe_blocker block;
        do {
            n = ::sendfile(fileno(), r.fd, &offset, want);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EPIPE) block.raised();
    }
    send_result result;
    if (n < 0) {
        result = send_error(errno, "sendfile");
    } else if (n == 0) {  // the file is shorter than the length promised (truncated meanwhile)
        throw std::runtime_error(fmt::format("sendfile(fd {}, file fd {}): file ended {} bytes early",
                                             fileno(), r.fd, r.length));
    } else {
        p.consumed(static_cast<uint64_t>(n));
        result = static_cast<size_t>(n) == want ? send_result::progress : send_result::blocked;
    }
    // The socket is full: on io_uring, only a poll can say when it has room.
    if (result == send_result::blocked && u) u->wait_writable(fileno());
    return result;
}

async_chat::send_result async_chat::send_error(int err, const char* call) {
    if (err == EAGAIN || err == EWOULDBLOCK) return send_result::blocked;
    if (err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ECONNABORTED ||
        err == ESHUTDOWN) {
        // The peer has gone (reset mid-reply): an ordinary end of a connection.
        handle_close();
        return send_result::failed;
    }
    throw std::system_error(err, std::generic_category(), fmt::format("{}(fd {})", call, fileno()));
}

}  // namespace medusa
