// async_chat: a channel that frames its input by terminators and streams its output through
// producers (Python's asynchat.async_chat).
//
// Input: set_terminator() says where the current record ends — at a string ("\r\n\r\n"), after a
// count of bytes, or never (collect everything). Bytes before the terminator go to
// collect_incoming_data(); reaching it calls found_terminator(). A terminator split across two
// reads is still found. collect_incoming_data() is never called with an empty piece.
//
// Output: push() queues bytes, push_with_producer() queues a producer, push_hook() a callback told
// when everything before it has gone, close_when_done() the close behind them all. The queue is
// sent when the socket is writable, gathering consecutive pieces into one sendmsg(2) (a gathering
// write; send(2) when it is one piece) and sending file ranges with sendfile(2).
//
// Held replies: bytes a channel pushes while it handles its own read event, with nothing queued
// ahead of them, are held (up to 64 KiB, with the hooks pushed among them) and sent in one
// send(2) when handle_read() returns, as Redis writes its replies before the next wait rather
// than from inside the command. The replies to requests pipelined in one read then leave
// together, and the send runs a few frames below loop() instead of a dozen. Nothing else changes:
// held bytes count in pending_bytes() and output_empty(); any other output (a producer, shared
// bytes, a push under cork(), close_when_done(), initiate_send()) sends or queues them first; close() and
// discard_buffers() send them first, as if they had gone at push(); so does del_channel(), before
// the socket goes to another owner. A loop run inside the handler sends them from the writable
// event. (A raw send() or shutdown_write() from the handler would overtake them: use push() and
// shutdown_when_done().) Not on io_uring (the ring sends), not for a pipe, and not in a read
// nested inside another channel's handler.
//
// Back-pressure: when more than high_water_mark bytes are queued, the channel stops reading (and
// stops framing requests it has already read) until the queue drains below low_water_mark, so a
// peer that sends requests but never reads replies costs bounded memory: about high_water_mark
// plus one reply.
//
// A producer at the head of the queue that is not ready() stalls the queue: writable() is false
// until update_interest() is called (by whoever made it ready).
//
// Pausing: pause_reading() stops framing (used by http_channel while a request is being served
// on a thread, so pipelined requests wait their turn). resume_reading() frames what is already
// buffered on the next loop pass (never re-entrantly from inside the caller).
#pragma once

#include <sys/uio.h>

#include <concepts>
#include <memory>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "asyncore/dispatcher.h"
#include "asyncore/fifo.h"
#include "asyncore/producers.h"

namespace medusa {

// The length of the longest proper prefix of `needle` that ends `haystack` (asynchat's helper):
// find_prefix_at_end("qwerty\r", "\r\n") == 1, find_prefix_at_end("qwerty", "\r\n") == 0.
size_t find_prefix_at_end(std::string_view haystack, std::string_view needle);

// One step of asynchat's scan for a string terminator over unframed input `buf`, as
// process_input() runs it (public so bench/terminator.cc measures the code the channel runs):
//   found:     the terminator starts at `collect`: collect that much, skip the terminator, fire;
//   not found: collect `collect` bytes and keep the rest, a prefix of the terminator that the
//              next read may complete ("GET / HTTP/1.0\r\n\r" keeps "\r\n\r").
struct terminator_scan {
    size_t collect;
    bool found;
};
terminator_scan find_terminator(std::string_view buf, std::string_view terminator);

// What push_hook() queues: told once everything pushed before it has been handed to the socket
// (an access log line written when the reply has gone, as medusa's hooked_producer); on io_uring,
// once the ring's send of it has completed. Not told if the channel closes or discards its output
// first, nor after a send that failed (the peer gone).
class send_hook {
public:
    virtual void sent() = 0;

protected:
    ~send_hook() = default;
};

class async_chat : public dispatcher {
public:
    // No terminator (collect everything), a string, or a byte count still to come.
    using terminator = std::variant<std::monostate, std::string, size_t>;

    explicit async_chat(socket_map& map = default_map());
    // Adopt an accepted connection (async_chat(conn)).
    explicit async_chat(int fd, socket_map& map = default_map());
    // The same, for a connection as dispatcher::accept() returned it (no system call).
    explicit async_chat(const accepted& conn, socket_map& map = default_map());

    // --- input -------------------------------------------------------------------------------
    void set_terminator(std::string_view t);  // an empty string means none
    void set_terminator(size_t count);        // 0 means none
    void set_terminator(std::nullptr_t);
    // set_terminator('\n') would be a count of 10 bytes: write set_terminator("\n").
    template <class C>
        requires std::same_as<C, char>
    void set_terminator(C) = delete;
    // For a count, the bytes still to come (0 once it has fired), as asynchat.
    const terminator& get_terminator() const { return terminator_; }
    virtual void collect_incoming_data(std::string_view data) = 0;
    virtual void found_terminator() = 0;

    // --- output ------------------------------------------------------------------------------
    void push(std::string data);
    void push(std::string_view data) { push(std::string(data)); }
    void push(const char* data) { push(std::string(data)); }
    // Bytes someone else owns (a cached file's content), kept alive by `data` until sent and sent
    // from there: never copied into the queue.
    void push(std::shared_ptr<const std::string> data);
    void push_with_producer(producer_ptr p);
    // Call h->sent() when everything pushed before it has been sent (see send_hook). Costs no
    // allocation: the queue keeps the shared_ptr.
    void push_hook(std::shared_ptr<send_hook> h);
    // Between cork() and uncork(), pushes are queued but not sent: a reply made of several
    // pushes (a header block, then a file producer) leaves in one writev, or one send with
    // MSG_MORE before the sendfile, instead of a send per push. uncork() sends what is queued.
    // Nesting is counted. (The name is TCP_CORK's; this one holds bytes in the channel.)
    void cork() { ++corked_; }
    void uncork() {
        if (corked_ > 0 && --corked_ == 0) initiate_send();
    }
    // Close once everything queued before this call has been sent (output pushed after it is
    // never sent). The close happens in the loop, not inside this call.
    void close_when_done();
    // Half-close once everything queued before this call has been sent: shutdown(SHUT_WR), so
    // the peer reads its end of file after the last byte, while this side goes on reading (an
    // HTTP server's lingering close). Bytes sent just before it go with MSG_MORE, and the FIN
    // leaves in their segment rather than in one of its own. Output pushed after it is not sent:
    // the socket refuses it (EPIPE), which ends in handle_close().
    void shutdown_when_done();
    // Drop buffered input and queued output (asynchat.discard_buffers).
    void discard_buffers();
    // Send as much of the queue as the socket takes now (push() calls it). A peer that has gone
    // (EPIPE, ECONNRESET) ends in handle_close(); other send errors throw std::system_error.
    void initiate_send();
    // Bytes queued and not yet sent (pushed strings; producers count what they have produced).
    size_t pending_bytes() const { return out_bytes_; }
    // Nothing queued, and (io_uring backend) no send still in flight.
    bool output_empty() const;

    // --- pausing -----------------------------------------------------------------------------
    void pause_reading();
    void resume_reading();
    bool reading_paused() const { return paused_; }

    // Bytes read from the socket but not yet framed (the rest of a pipelined stream). An
    // http_channel handing its socket to a thread takes them with take_in_buffer().
    std::string_view ac_in_buffer() const;
    std::string take_in_buffer();

    // --- tuning (asynchat's class attributes) ------------------------------------------------
    // (32 bits: every channel carries them, and no buffer of a channel is 4 GiB.)
    uint32_t ac_in_buffer_size = 4096;    // bytes per recv()
    uint32_t ac_out_buffer_size = 4096;   // bytes asked of a producer per send
    uint32_t high_water_mark = 1 << 20;   // stop reading above this much queued output
    uint32_t low_water_mark = 1 << 18;    // resume below this

    // --- dispatcher hooks ----------------------------------------------------------------------
    bool readable() override;
    bool writable() override;
    void handle_read() override;
    void handle_write() override;
    void handle_close() override;
    void close() override;

protected:
    void leaving_map() override;
    // Inside collect_incoming_data(), while no terminator is set: the last `n` bytes of the data
    // were not used. They stay buffered and are framed again, under whatever terminator is set
    // next. This lets a channel that frames its own input (http_channel hands a whole read to
    // its request parser, which stops at the end of the head) leave a body or the next request
    // for async_chat. Throws std::logic_error when n is more than that data.
    void unread(size_t n);

    // Frame what is in the input buffer now. Stops when the channel leaves the map, closes, is
    // paused, or goes over the high-water mark, leaving the rest buffered.
    void process_input();
    // Bytes read from the socket and not yet framed.
    size_t input_unframed() const { return in_size() - in_pos_; }

private:
    // One entry of the output queue: bytes (sent from `pos` on), a producer, a hook, or the
    // close marker.
    struct out_item {
        std::string data;
        size_t pos = 0;
        producer_ptr prod;
        bool close = false;
        std::shared_ptr<const std::string> shared;  // bytes kept elsewhere (data is then empty)
        std::shared_ptr<send_hook> hook;
        bool shutdown = false;  // shutdown_when_done()
        bool is_bytes() const { return !prod && !close && !hook && !shutdown; }
        std::string_view bytes() const { return shared ? std::string_view(*shared) : data; }
    };
    enum class send_result { progress, blocked, failed };

    void send_queue();
    // Bytes pushed while nothing is queued ahead of them go to the socket at once (muduo's
    // sendInLoop), without a trip through the queue: how many of `data` went. 0 when this
    // path does not apply (a send already running, io_uring, a pipe, more than one pass's
    // budget) or the socket is full; the caller queues what is left.
    size_t send_direct(std::string_view data);
    send_result send_bytes(size_t budget);
    send_result sent(size_t n, size_t total);  // n of the head's `total` bytes have gone
    send_result send_file(producer& p, const producer::file_range& r, size_t budget);
    send_result send_error(int err, const char* call);
    void bytes_sent(size_t n);
    void output_added();
    void release_output();
    void compact_input();
    // The read itself (handle_read() holds the replies around it).
    void read_and_frame();
    // Held replies (see "Held replies" above): hold these bytes (false: not held, queue them);
    // move what is held to the head of the queue; send what is held.
    bool hold(std::string& data);
    // (What has not gone of `bytes`, and the hooks not yet due, go to the queue.)
    void queue_held(std::string bytes, size_t gone,
                    std::vector<std::pair<size_t, std::shared_ptr<send_hook>>>& hooks);
    void spill_held();
    void send_held();
    void schedule_framing();
    void interest_changed();

    terminator terminator_;
    // Unframed input starts at in_pos_ (no erase per record), in in_buffer_, or, while a read
    // is framed straight from the loop's scratch space, in in_scratch_ (see handle_read).
    std::string in_buffer_;
    const char* in_scratch_ = nullptr;
    size_t in_scratch_len_ = 0;
    size_t in_pos_ = 0;
    const char* in_data() const { return in_scratch_ ? in_scratch_ : in_buffer_.data(); }
    size_t in_size() const { return in_scratch_ ? in_scratch_len_ : in_buffer_.size(); }
    size_t unreadable_ = 0;  // bytes unread() may give back: the data being collected
    fifo<out_item> out_queue_;
    fifo<out_item> dropped_;  // output dropped while initiate_send runs; freed after it
    size_t out_bytes_ = 0;
    bool paused_ = false;
    bool resume_scheduled_ = false;
    bool over_high_water_ = false;
    bool in_send_ = false;
    bool not_socket_ = false;  // a pipe (file_dispatcher): writev instead of sendmsg
    uint8_t corked_ = 0;       // cork() depth
    bool holding_ = false;     // bytes of ours are held (in the thread's held_output)
};

}  // namespace medusa
