#include "thread/trigger_file.h"

#include <utility>

namespace medusa::thread {

// --- the bytes of one flush --------------------------------------------------------------------

void trigger_file::shared_state::release(size_t n) {
    {
        std::lock_guard lock(mutex);
        in_flight -= n;
    }
    drained.notify_all();
}

void trigger_file::shared_state::mark_gone() {
    gone.store(true, std::memory_order_release);
    { std::lock_guard lock(mutex); }  // a waiter between its check and its sleep sees the flag
    drained.notify_all();
}

// Hands its bytes to the channel once, and gives their count back to the writer when the
// channel pulls them, or when it is destroyed unpulled (the thunk never ran, the channel's queue
// was dropped): whichever way the bytes go, a waiting writer is released. Bytes destroyed
// unpulled never reach the client, so the writer is also told the channel has gone: a writer
// waiting for room when its client hung up wakes with connection_error instead of writing
// another buffer into nothing.
class trigger_file::chunk : public producer {
public:
    chunk(std::shared_ptr<shared_state> s, std::string data)
        : state_(std::move(s)), data_(std::move(data)), counted_(data_.size()) {}
    chunk(chunk&& o) noexcept
        : state_(o.state_), data_(std::move(o.data_)), counted_(std::exchange(o.counted_, 0)) {}
    ~chunk() override {
        if (counted_) state_->mark_gone();  // dropped before the channel pulled it
        give_back();
    }
    std::string more() override {
        std::string out = std::move(data_);
        data_.clear();
        give_back();
        return out;
    }

private:
    void give_back() {
        if (counted_) state_->release(std::exchange(counted_, 0));
    }
    std::shared_ptr<shared_state> state_;
    std::string data_;
    size_t counted_;
};

// --- the writer ----------------------------------------------------------------------------------

trigger_file::trigger_file(std::shared_ptr<select_trigger> trigger,
                           std::weak_ptr<async_chat> channel, completion on_close,
                           size_t buffer_size)
    : trigger_(std::move(trigger)),
      state_(std::make_shared<shared_state>()),
      on_close_(std::move(on_close)),
      buffer_size_(buffer_size) {
    if (!trigger_) throw std::invalid_argument("trigger_file: no trigger");
    state_->channel = std::move(channel);
}

trigger_file::trigger_file(const std::shared_ptr<async_chat>& channel, completion on_close,
                           size_t buffer_size)
    : trigger_file(trigger_for(channel->map()), channel, std::move(on_close), buffer_size) {}

trigger_file::~trigger_file() {
    if (trigger_) close();  // a moved-from writer has no trigger and nothing to finish
}

void trigger_file::check_open() const {
    if (closed_) throw std::logic_error("trigger_file: write after close()");
    if (channel_gone()) throw connection_error("trigger_file: the channel has gone");
}

void trigger_file::write(std::string_view data) {
    check_open();
    buffer_.append(data);
    if (buffer_.size() > buffer_size_) flush();
}

void trigger_file::writeline(std::string_view line) {
    check_open();
    buffer_.append(line);
    buffer_.append("\r\n");
    if (buffer_.size() > buffer_size_) flush();
}

void trigger_file::writelines(const std::vector<std::string>& lines) {
    for (const auto& line : lines) writeline(line);
}

void trigger_file::flush() {
    check_open();
    if (buffer_.empty()) return;
    if (!send(std::exchange(buffer_, std::string()), nullptr))
        throw connection_error("trigger_file: the loop's trigger is closed");
    wait_for_room();
}

void trigger_file::flush_then(completion f) {
    check_open();
    if (!send(std::exchange(buffer_, std::string()), std::move(f)))
        throw connection_error("trigger_file: the loop's trigger is closed");
    wait_for_room();
}

bool trigger_file::close() {
    if (closed_ || !trigger_) return false;
    closed_ = true;
    if (channel_gone()) return false;
    // One thunk for the rest and the completion, so nothing can come between them.
    try {
        return send(std::exchange(buffer_, std::string()), std::move(on_close_));
    } catch (...) {
        return false;  // out of memory, or the wake-up write failed: close() runs in destructors
    }
}

size_t trigger_file::in_flight() const {
    if (!state_) return 0;
    std::lock_guard lock(state_->mutex);
    return state_->in_flight;
}

void trigger_file::wait_for_room() {
    if (max_in_flight_ == 0) return;
    std::unique_lock lock(state_->mutex);
    state_->drained.wait(lock, [&] {
        return state_->in_flight <= max_in_flight_ || state_->gone.load(std::memory_order_acquire);
    });
    lock.unlock();
    if (channel_gone()) throw connection_error("trigger_file: the channel has gone");
}

bool trigger_file::send(std::string data, completion done) {
    // The bytes are counted before the thunk exists, so whatever becomes of the thunk (run,
    // dropped) gives them back through the chunk's destructor.
    std::shared_ptr<chunk> bytes;
    if (!data.empty()) {
        {
            std::lock_guard lock(state_->mutex);
            state_->in_flight += data.size();
        }
        bytes = std::make_shared<chunk>(state_, std::move(data));
    }
    // The thunks hold the shared state, not the writer: the writer may be gone when they run.
    bool queued = trigger_->call_in_loop(
        state_->channel,
        [bytes = std::move(bytes), done = std::move(done), deliver = deliver_](async_chat& c) mutable {
            if (bytes) {
                // Move the chunk out of its shared_ptr into the producer the channel will own.
                producer_ptr p = std::make_unique<chunk>(std::move(*bytes));
                if (deliver)
                    deliver(c, std::move(p));
                else
                    c.push_with_producer(std::move(p));
            }
            if (done) done(c);
        },
        [state = state_] { state->mark_gone(); });
    if (!queued) state_->mark_gone();
    return queued;
}

}  // namespace medusa::thread
