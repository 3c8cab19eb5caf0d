#include "cgi/pipe_channels.h"

#include <algorithm>

namespace medusa::cgi {

// --- pipe_reader -----------------------------------------------------------------------------

pipe_reader::pipe_reader(int fd, data_handler on_data, eof_handler on_eof, socket_map& map)
    : file_dispatcher(fd, map), on_data_(std::move(on_data)), on_eof_(std::move(on_eof)) {}

void pipe_reader::detach() {
    on_data_ = nullptr;
    on_eof_ = nullptr;
    gate_ = nullptr;
    on_flush_ = nullptr;
    update_interest();
}

ssize_t pipe_reader::read_once() {
    char buf[64 * 1024];
    size_t want = std::min(read_size, sizeof buf);
    ssize_t n = read(buf, want);  // 0 on EAGAIN; EOF comes through handle_close()
    if (n > 0 && on_data_) on_data_(std::string_view(buf, size_t(n)));
    return n;
}

void pipe_reader::handle_read() {
    if (eof_ || closed()) return;
    auto keep = shared_from_this();  // the handlers may drop its owner's reference
    // Read on until the pipe would block: a script that has written its output and exited is
    // read to its end of file in this one event (a short script: one read, then 0).
    for (int i = 0; i < reads_per_event && !eof_ && !closed() && (!gate_ || gate_()); ++i) {
        if (read_once() <= 0) break;
    }
    if (auto f = on_flush_) f();
}

void pipe_reader::drain() {
    // A pipe holds at most its capacity (64 KiB by default), so this ends quickly.
    auto keep = shared_from_this();
    while (!eof_ && !closed()) {
        char buf[64 * 1024];
        ssize_t n = read(buf, sizeof buf);
        if (n <= 0) break;
        if (on_data_) on_data_(std::string_view(buf, size_t(n)));
    }
}

void pipe_reader::handle_close() { end(); }

void pipe_reader::end() {
    if (eof_) return;
    eof_ = true;
    auto keep = shared_from_this();
    close();
    if (auto h = std::move(on_eof_)) {
        on_eof_ = nullptr;
        h();
    }
}

// --- pipe_writer -----------------------------------------------------------------------------

pipe_writer::pipe_writer(int fd, socket_map& map) : file_dispatcher(fd, map) {}

void pipe_writer::set_handlers(drained_handler on_drained, closed_handler on_closed) {
    on_drained_ = std::move(on_drained);
    on_closed_ = std::move(on_closed);
}

void pipe_writer::write(std::string_view data) {
    if (failed_ || finishing_ || closed() || data.empty()) return;
    bool was_empty = queued() == 0;
    buffer_.append(data);
    if (was_empty) update_interest();
}

void pipe_writer::finish() {
    if (finishing_) return;
    finishing_ = true;
    if (queued() == 0) shut();
}

void pipe_writer::handle_write() {
    if (closed() || queued() == 0) return;
    ssize_t n = send(buffer_.data() + pos_, queued());  // 0 on EAGAIN; EPIPE -> handle_close()
    if (closed()) return;
    pos_ += size_t(n);
    if (queued() > 0) {
        // Drop what went once it is most of the buffer, so a long body does not grow it.
        if (pos_ > buffer_.size() / 2) {
            buffer_.erase(0, pos_);
            pos_ = 0;
        }
        return;
    }
    buffer_.clear();
    pos_ = 0;
    auto keep = shared_from_this();
    if (on_drained_) on_drained_();
    if (finishing_ && !closed()) shut();
}

void pipe_writer::handle_close() {
    // The script closed its stdin (or exited) before reading everything.
    failed_ = true;
    shut();
}

void pipe_writer::shut() {
    auto keep = shared_from_this();
    buffer_.clear();
    pos_ = 0;
    close();
    if (auto h = std::move(on_closed_)) {
        on_closed_ = nullptr;
        on_drained_ = nullptr;
        h();
    }
}

}  // namespace medusa::cgi
