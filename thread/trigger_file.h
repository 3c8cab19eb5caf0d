// trigger_file: a file-like writer a worker thread uses to send output down a channel it must
// not touch (medusa's select_trigger.trigger_file and thread_handler.thread_output_file).
//
// The worker writes; the bytes collect in a buffer of buffer_size (4096, as medusa); a write
// that takes the buffer past that size, or a flush(), turns the buffer into a thunk that the
// loop runs through the select_trigger, where it queues the bytes on the channel
// (push_with_producer). close() sends what
// is left and then runs the completion, in the loop thread, in order after all the data:
// by default close_when_done() (medusa's thread_output_file); the HTTP thread handler passes
// "this request is done" instead, so a keep-alive connection stays open.
//
//     // loop thread, in a handler:
//     medusa::thread::trigger_file out(std::static_pointer_cast<async_chat>(shared_from_this()));
//     pool.put([out = std::move(out)]() mutable {
//         out.writeline("computing...");     // worker thread
//         out.write(result());
//         out.close();                       // push the rest, then close_when_done()
//     });
//
// When the client has gone. The writer never touches the channel itself, and never locks the
// weak_ptr it holds: each thunk locks it in the loop thread. A thunk that finds the channel gone
// (destroyed, closed, or handed off with del_channel()) drops its bytes and sets a flag that the
// worker reads; so does a flush that reached the channel but was dropped unsent (the channel
// closed with it still queued). From then on write(), writeline(), writelines() and flush() throw
// medusa::thread::connection_error (medusa's ConnectionError, raised by a write to a dead peer),
// so a long computation can stop early. Bytes written between the hang-up and the moment the
// loop notices are dropped without an error: the worker learns of it at its next write after
// that. close() never throws; it returns false if the channel was already known to be gone.
//
// Back-pressure. Each flush travels as a producer, which the channel pulls only when its socket
// can take more. The writer counts the bytes it has handed over and the channel has not yet
// pulled; past max_in_flight (1 MiB by default, the channel's own high-water mark) write() and
// flush() wait until the client has read enough, so a worker producing 10 GB for a client that
// reads slowly holds about 1 MiB, not 10 GB. The wait ends when the channel pulls the bytes, or
// when it goes away (its queue is dropped: connection_error), or when the trigger is closed
// (queued thunks are dropped: connection_error): shut the worker pool down while the loop still
// runs, or close the channels first (close_all(), as medusa-demo does at exit).
//
// Threads: one thread at a time uses a trigger_file (it is moved, not shared, into the worker).
// The destructor calls close() if nobody did, so a worker that leaves by an exception still
// completes the request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/async_chat.h"
#include "asyncore/producers.h"
#include "thread/select_trigger.h"

namespace medusa::thread {

// The channel a trigger_file writes to has gone (the client hung up, or the server closed it).
class connection_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class trigger_file {
public:
    // Runs in the loop thread after the last bytes are pushed, only if the channel is still
    // there. The default calls close_when_done().
    using completion = std::function<void(async_chat& channel)>;
    static void close_when_done(async_chat& channel) { channel.close_when_done(); }

    static constexpr size_t default_buffer_size = 4096;
    static constexpr size_t default_max_in_flight = 1 << 20;

    // What a flush does in the loop thread: by default, channel.push_with_producer(bytes). A
    // writer whose bytes belong inside something else (the HTTP thread handler queues them
    // behind a reply head, in a producer of its own) gives its own. `bytes` is the flush as a
    // producer that counts towards max_in_flight until it has been pulled or destroyed.
    using deliver_fn = std::function<void(async_chat& channel, producer_ptr bytes)>;

    // Write to `channel` through `trigger` (construct anywhere; the channel is only ever touched
    // by thunks in its loop thread).
    trigger_file(std::shared_ptr<select_trigger> trigger, std::weak_ptr<async_chat> channel,
                 completion on_close = close_when_done,
                 size_t buffer_size = default_buffer_size);
    // In the loop thread: write to `channel` through the trigger of its map (trigger_for()).
    explicit trigger_file(const std::shared_ptr<async_chat>& channel,
                          completion on_close = close_when_done,
                          size_t buffer_size = default_buffer_size);
    ~trigger_file();

    trigger_file(trigger_file&&) noexcept = default;
    trigger_file& operator=(trigger_file&&) = delete;
    trigger_file(const trigger_file&) = delete;
    trigger_file& operator=(const trigger_file&) = delete;

    // Append to the buffer; past buffer_size the buffer goes to the channel. Throw
    // connection_error once the channel is known to be gone, std::logic_error after close().
    void write(std::string_view data);
    // write(line + "\r\n"), as medusa.
    void writeline(std::string_view line);
    // writeline() of each line.
    void writelines(const std::vector<std::string>& lines);
    // Send the buffer now (nothing is sent for an empty buffer).
    void flush();
    // Send the buffer, then run f(channel) in the loop thread, in order with the bytes (only if
    // the channel is still there). Throws as flush().
    void flush_then(completion f);
    // Send the rest and run the completion. Safe to call twice; never throws. Returns false if
    // the channel was already known to be gone (or the trigger was closed).
    bool close();

    // True once a thunk has found the channel gone. Never throws.
    bool channel_gone() const { return state_ && state_->gone.load(std::memory_order_acquire); }
    bool closed() const { return closed_; }
    size_t buffer_size() const { return buffer_size_; }

    // 0: never wait (medusa's behaviour, unbounded).
    void set_max_in_flight(size_t bytes) { max_in_flight_ = bytes; }
    void set_deliver(deliver_fn f) { deliver_ = std::move(f); }
    // Bytes handed to the loop and not yet pulled by the channel.
    size_t in_flight() const;

private:
    // What the worker, the thunks and the producers share; they may outlive the writer.
    struct shared_state {
        std::weak_ptr<async_chat> channel;
        std::atomic<bool> gone{false};
        std::mutex mutex;
        std::condition_variable drained;
        size_t in_flight = 0;  // guarded by mutex
        void release(size_t n);
        void mark_gone();
    };
    class chunk;  // one flush on its way: returns its bytes to in_flight when pulled or dropped

    void check_open() const;
    // Hand `data` (and then `done`) to the loop. False if the trigger is closed.
    bool send(std::string data, completion done);
    // Wait while more than max_in_flight_ bytes are on their way.
    void wait_for_room();

    std::shared_ptr<select_trigger> trigger_;
    std::shared_ptr<shared_state> state_;
    completion on_close_;
    deliver_fn deliver_;
    size_t buffer_size_;
    size_t max_in_flight_ = default_max_in_flight;
    std::string buffer_;
    bool closed_ = false;
};

}  // namespace medusa::thread
