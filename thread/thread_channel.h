// thread_channel: a thread that writes to a pipe, and the loop-side channel that reads it and
// passes what it reads on to a parent channel (medusa's thread/thread_channel.py).
//
// The pipe's write end belongs to the thread: start() runs fn(write_fd) on a new std::thread,
// which may write(2) to it in blocking mode as if it were stdout. The read end is this
// file_dispatcher, in the parent's map; each readable event reads up to buffer_size bytes and
// push()es them onto the parent, in the loop thread. When fn returns, the thread closes the write
// end; the loop sees end of file, calls on_eof(parent) if one was given (medusa leaves the parent
// open: "depending on your intentions, you may want to close the parent channel here") and
// closes this channel.
//
//     // loop thread, in found_terminator() of an async_chat `parent`:
//     medusa::thread::thread_channel::create(parent, [n](int fd) {
//         for (int i = 0; i < n; ++i) {
//             std::string line = fmt::format("{}\r\n", slow_step(i));
//             if (::write(fd, line.data(), line.size()) < 0) return;  // parent gone: EPIPE
//         }
//     })->start();
//
// Compared with trigger_file, this costs two descriptors and a thread per use but needs no lock
// and gives the thread natural back-pressure: a write blocks while the pipe is full.
//
// When the parent goes away (or is handed off with del_channel()), the next read closes this
// channel and with it the read end; the thread's next write() then fails with EPIPE (SIGPIPE is
// blocked in the thread, so the process is not killed) and fn should return.
//
// The thread's lifetime. fn and its arguments are owned by the thread, never by this object, so
// nothing the thread uses can be freed under it. The destructor joins the thread if it has
// finished (the usual case: the channel closes at end of file, once the thread has closed its
// end) and otherwise detaches it (the parent hung up while fn was still computing): the loop
// thread never blocks on a worker. join() waits for it explicitly, from any thread but the loop's
// while fn may still be writing (fn could be blocked on a full pipe that only the loop drains).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "asyncore/async_chat.h"
#include "asyncore/file_dispatcher.h"

namespace medusa::thread {

class thread_channel : public file_dispatcher {
public:
    using function = std::function<void(int write_fd)>;
    using completion = std::function<void(async_chat& parent)>;

    // In the loop thread: make the pipe and add the read end to the parent's map. The thread
    // starts with start(). fn must not close write_fd; the thread does that when fn returns.
    static std::shared_ptr<thread_channel> create(const std::shared_ptr<async_chat>& parent,
                                                  function fn, completion on_eof = nullptr);

    // Public for make<>(); prefer create(). Throws std::system_error naming pipe2().
    thread_channel(std::weak_ptr<async_chat> parent, function fn, completion on_eof,
                   socket_map& map);
    ~thread_channel() override;

    // Run fn(write_fd) on a new thread. Once only (std::logic_error on a second call).
    void start();
    // Wait for the thread to finish (see above for where not to call it).
    void join();
    bool finished() const { return finished_ && finished_->load(std::memory_order_acquire); }

    // Bytes read per event (medusa's buffer_size).
    size_t buffer_size = 8192;

    // --- dispatcher hooks ----------------------------------------------------------------------
    bool readable() override { return true; }
    bool writable() override { return false; }
    void handle_read() override;
    // Pass on what is left in the pipe, run on_eof(parent), close.
    void handle_close() override;
    std::string repr() const override;

private:
    thread_channel(std::weak_ptr<async_chat> parent, function fn, completion on_eof,
                   socket_map& map, std::pair<int, int> fds);

    std::weak_ptr<async_chat> parent_;
    function fn_;
    completion on_eof_;
    int write_fd_ = -1;  // until start() gives it to the thread
    std::shared_ptr<std::atomic<bool>> finished_;
    std::thread worker_;
};

}  // namespace medusa::thread
