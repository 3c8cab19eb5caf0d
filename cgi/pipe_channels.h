// pipe_channels: the two ends of a child's standard streams, as channels in the map.
//
// pipe_reader reads a script's stdout or stderr as the loop finds data there and hands each piece
// to a callback; a predicate can hold reading back (the CGI handler stops reading stdout while
// the client has not taken what was read before, so a script that writes forever to a client
// that reads nothing costs a bounded buffer: the pipe fills, and the script blocks in write()).
//
// pipe_writer feeds a script's stdin: write() queues bytes, the loop writes them as the script
// reads, finish() closes the pipe once everything queued has gone (the script then reads end
// of file). A script that exits or closes stdin without reading it all makes the write fail
// with EPIPE: the rest is dropped and on_closed runs, never a SIGPIPE (see file_dispatcher.h).
//
// No thread per request: both are file_dispatchers over non-blocking pipe ends.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "asyncore/file_dispatcher.h"

namespace medusa::cgi {

class pipe_reader : public file_dispatcher {
public:
    using data_handler = std::function<void(std::string_view)>;
    using eof_handler = std::function<void()>;
    using gate = std::function<bool()>;
    using flush_handler = std::function<void()>;

    // Takes ownership of fd. on_data gets every piece read (never empty), on_eof runs once at
    // end of file or a read error; then the channel closes itself.
    pipe_reader(int fd, data_handler on_data, eof_handler on_eof, socket_map& map = default_map());

    // Read only while `g` returns true (default: always). Call update_interest() when its answer
    // may have changed from false to true.
    void set_gate(gate g) { gate_ = std::move(g); }
    // Run `f` after each read event's reads: the pipe is empty for now (or ended, or the gate
    // closed). A reader that batches what it sends sends it there: a script's reply head and
    // the first body bytes, which usually come in one read, go out in one send.
    void set_flush(flush_handler f) { on_flush_ = std::move(f); }
    // Drop the callbacks (their owner is going away); the pipe is still read and drained.
    void detach();
    // Read what is in the pipe now, ignoring the gate, until it would block or ends.
    void drain();
    bool at_eof() const { return eof_; }

    size_t read_size = 64 * 1024;
    // Reads per read event at most: until the pipe would block, it ends, or the gate closes.
    int reads_per_event = 4;

    bool readable() override { return !eof_ && (!gate_ || gate_()); }
    bool writable() override { return false; }
    void handle_read() override;
    void handle_close() override;

private:
    // Bytes read (0: nothing now, or the end of file, which has called end()).
    ssize_t read_once();
    void end();

    data_handler on_data_;
    eof_handler on_eof_;
    gate gate_;
    flush_handler on_flush_;
    bool eof_ = false;
};

class pipe_writer : public file_dispatcher {
public:
    using drained_handler = std::function<void()>;
    using closed_handler = std::function<void()>;

    // Takes ownership of fd.
    explicit pipe_writer(int fd, socket_map& map = default_map());

    // Queue bytes for the script (dropped once the pipe has failed or been finished).
    void write(std::string_view data);
    // Close the pipe once everything queued has been written.
    void finish();
    size_t queued() const { return buffer_.size() - pos_; }
    bool failed() const { return failed_; }

    // on_drained: the queue has become empty (the script has read what was given).
    // on_closed: the pipe broke (the script stopped reading) or finish() completed.
    void set_handlers(drained_handler on_drained, closed_handler on_closed);

    bool readable() override { return false; }
    bool writable() override { return queued() > 0; }
    void handle_write() override;
    void handle_close() override;

private:
    void shut();

    std::string buffer_;
    size_t pos_ = 0;
    bool finishing_ = false;
    bool failed_ = false;
    drained_handler on_drained_;
    closed_handler on_closed_;
};

}  // namespace medusa::cgi
