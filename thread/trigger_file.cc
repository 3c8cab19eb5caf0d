#include "thread/trigger_file.h"

#include <utility>

namespace medusa::thread {

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

bool trigger_file::send(std::string data, completion done) {
    // The thunks hold the shared state, not the writer: the writer may be gone when they run.
    bool queued = trigger_->call_in_loop(
        state_->channel,
        [data = std::move(data), done = std::move(done)](async_chat& c) mutable {
            if (!data.empty()) c.push(std::move(data));
            if (done) done(c);
        },
        [state = state_] { state->gone.store(true, std::memory_order_release); });
    if (!queued) state_->gone.store(true, std::memory_order_release);
    return queued;
}

}  // namespace medusa::thread
