// producers: medusa's producers.py, one class at a time. Each more() returns what medusa's
// returns, byte for byte; the differences (all in degenerate cases) are noted where they occur.
#include "asyncore/producers.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "asyncore/async_chat.h"  // find_prefix_at_end, as medusa imports it from asynchat

namespace medusa {

namespace {

// True when an empty more() from p meant "finished" (see producers.h: not stalled, and no file
// range waiting to be sent).
bool finished(const producer& p) { return p.ready() && p.sendfile_source() == nullptr; }

// more() for wrappers that transform bytes and so cannot pass a file range through to
// sendfile(2): when p answers empty because a file range comes next, ask again and get the range
// copied. Empty from here means finished or stalled (tell them apart with ready()).
std::string pull(producer& p) {
    for (;;) {
        if (!p.ready()) return {};
        std::string d = p.more();
        if (!d.empty() || finished(p) || !p.ready()) return d;
    }
}

// A slice of at most n bytes from data at pos, advancing pos (simple and scanning producers).
std::string take_slice(const std::string& data, size_t& pos, size_t n) {
    if (pos >= data.size()) return {};
    size_t len = std::min(n, data.size() - pos);
    std::string r = data.substr(pos, len);
    pos += len;
    return r;
}

}  // namespace

// --- simple / scanning ---------------------------------------------------------------------------
// medusa's simple_producer re-slices its string on every call; reading forward by an index gives
// the same pieces without the quadratic copying, which is all scanning_producer was for.

simple_producer::simple_producer(std::string data, size_t buffer_size)
    : data_(std::move(data)), buffer_size_(buffer_size) {}

std::string simple_producer::more() { return take_slice(data_, pos_, buffer_size_); }

scanning_producer::scanning_producer(std::string data, size_t buffer_size)
    : data_(std::move(data)), buffer_size_(buffer_size) {}

std::string scanning_producer::more() { return take_slice(data_, pos_, buffer_size_); }

// --- lines / buffer_list ---------------------------------------------------------------------------

lines_producer::lines_producer(std::vector<std::string> lines) : lines_(std::move(lines)) {}

std::string lines_producer::more() {
    // '\r\n'.join(lines[:50]) + '\r\n'
    std::string r;
    size_t end = std::min(lines_.size(), pos_ + 50);
    for (; pos_ < end; ++pos_) {
        r += lines_[pos_];
        r += "\r\n";
    }
    return r;
}

buffer_list_producer::buffer_list_producer(std::vector<std::string> buffers)
    : buffers_(std::move(buffers)) {}

std::string buffer_list_producer::more() {
    // medusa returns an empty buffer in the list as is, which ends the output early; an empty
    // buffer adds nothing to ''.join(buffers), so it is skipped here.
    while (pos_ < buffers_.size()) {
        std::string& b = buffers_[pos_++];
        if (!b.empty()) return std::move(b);
    }
    return {};
}

// --- file ------------------------------------------------------------------------------------------

file_producer::file_producer(int fd, off_t offset, int64_t length)
    : fd_(fd),
      range_{fd, offset, length < 0 ? 0 : static_cast<uint64_t>(length)},
      known_length_(length >= 0) {
    // With no length the file is read sequentially (it may be a pipe); start at the offset.
    if (!known_length_ && offset != 0 && ::lseek(fd_, offset, SEEK_SET) < 0) {
        int e = errno;
        close_file();
        throw std::system_error(e, std::generic_category(),
                                fmt::format("lseek(fd {}, {})", fd, offset));
    }
}

file_producer::file_producer(std::shared_ptr<const void> owner, int fd, off_t offset,
                             uint64_t length)
    : fd_(fd), range_{fd, offset, length}, known_length_(true), owner_(std::move(owner)) {}

file_producer::~file_producer() { close_file(); }

void file_producer::close_file() {
    if (owner_)
        owner_.reset();
    else if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    range_.fd = -1;
}

std::string file_producer::more() {
    if (fd_ < 0) return {};
    size_t want = out_buffer_size;
    if (known_length_) want = static_cast<size_t>(std::min<uint64_t>(want, range_.length));
    if (want == 0) {
        close_file();
        return {};
    }
    std::string buf(want, '\0');
    ssize_t n;
    do {
        n = known_length_ ? ::pread(fd_, buf.data(), want, range_.offset)
                          : ::read(fd_, buf.data(), want);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        throw std::system_error(errno, std::generic_category(), fmt::format("read(fd {})", fd_));
    if (n == 0) {  // EOF (or a file shorter than the length it was given)
        close_file();
        return {};
    }
    buf.resize(static_cast<size_t>(n));
    if (known_length_) consumed(static_cast<uint64_t>(n));
    return buf;
}

const producer::file_range* file_producer::sendfile_source() const {
    return known_length_ && fd_ >= 0 && range_.length > 0 ? &range_ : nullptr;
}

void file_producer::consumed(uint64_t n) {
    if (!known_length_) return;
    n = std::min(n, range_.length);
    range_.offset += static_cast<off_t>(n);
    range_.length -= n;
    // The channel calls more() once more after the range is sent; that sees the file closed.
    if (range_.length == 0) close_file();
}

// --- output ----------------------------------------------------------------------------------------

void output_producer::write(std::string_view data) {
    // '\r\n'.join(data.split('\n')): every LF becomes CRLF (a CRLF becomes CR CR LF, as medusa).
    for (char c : data) {
        if (c == '\n') data_ += '\r';
        data_ += c;
    }
}

void output_producer::writeline(std::string_view line) {
    data_ += line;
    data_ += "\r\n";
}

void output_producer::writelines(const std::vector<std::string>& lines) {
    for (const auto& l : lines) writeline(l);
    if (lines.empty()) data_ += "\r\n";  // '\r\n'.join([]) + '\r\n'
}

std::string output_producer::more() {
    std::string r = take_slice(data_, pos_, 512);
    if (pos_ == data_.size()) {  // all handed out: start afresh for later writes
        data_.clear();
        pos_ = 0;
    }
    return r;
}

// --- composite -------------------------------------------------------------------------------------

composite_producer::composite_producer(std::vector<producer_ptr> producers) {
    for (auto& p : producers)
        if (p) producers_.push_back(std::move(p));
}

std::string composite_producer::more() {
    while (!producers_.empty()) {
        producer& p = *producers_.front();
        if (!p.ready()) return {};
        std::string d = p.more();
        if (!d.empty()) return d;
        if (!finished(p)) return {};
        producers_.pop_front();
        // Stop at a file range so the channel can sendfile(2) it (a wrapper that needs the
        // bytes calls more() again); stop at a stalled producer (ready() now answers false).
        if (!producers_.empty() && !finished(*producers_.front())) return {};
    }
    return {};
}

bool composite_producer::ready() const {
    return producers_.empty() || producers_.front()->ready();
}

const producer::file_range* composite_producer::sendfile_source() const {
    return producers_.empty() ? nullptr : producers_.front()->sendfile_source();
}

void composite_producer::consumed(uint64_t n) {
    if (!producers_.empty()) producers_.front()->consumed(n);
}

// --- globbing --------------------------------------------------------------------------------------

globbing_producer::globbing_producer(producer_ptr p, size_t buffer_size)
    : producer_(std::move(p)), buffer_size_(buffer_size) {
    if (!producer_) throw std::invalid_argument("globbing_producer: null producer");
}

std::string globbing_producer::more() {
    std::string buffer;
    while (buffer.size() < buffer_size_ && producer_->ready()) {
        std::string d = producer_->more();
        if (d.empty()) break;
        if (buffer.empty())
            buffer = std::move(d);
        else
            buffer += d;
    }
    return buffer;
}

// --- hooked ----------------------------------------------------------------------------------------

hooked_producer::hooked_producer(producer_ptr p, std::function<void(uint64_t)> fn)
    : producer_(std::move(p)), function_(std::move(fn)) {
    if (!producer_) throw std::invalid_argument("hooked_producer: null producer");
}

std::string hooked_producer::more() {
    if (!producer_) return {};
    std::string r = producer_->more();
    if (!r.empty())
        bytes_ += r.size();
    else if (finished(*producer_))
        finish();
    return r;
}

const producer::file_range* hooked_producer::sendfile_source() const {
    return producer_ ? producer_->sendfile_source() : nullptr;
}

void hooked_producer::consumed(uint64_t n) {
    if (!producer_) return;
    bytes_ += n;  // bytes sent by sendfile(2) count as produced
    producer_->consumed(n);
}

void hooked_producer::finish() {
    // Drop the producer first, so a hook that looks at this producer sees it finished, and take
    // the function out so it runs exactly once.
    producer_.reset();
    auto fn = std::move(function_);
    function_ = nullptr;
    if (fn) fn(bytes_);
}

// --- chunked ---------------------------------------------------------------------------------------

chunked_producer::chunked_producer(producer_ptr p, std::vector<std::string> footers)
    : producer_(std::move(p)), footers_(std::move(footers)) {
    if (!producer_) throw std::invalid_argument("chunked_producer: null producer");
}

std::string chunked_producer::more() {
    if (!producer_) return {};
    std::string data = pull(*producer_);
    if (!data.empty()) {
        std::string r = fmt::format("{:x}\r\n", data.size());
        r.reserve(r.size() + data.size() + 2);
        r += data;
        r += "\r\n";
        return r;
    }
    if (!producer_->ready()) return {};  // stalled, not finished
    producer_.reset();
    // b'\r\n'.join([b'0'] + footers) + b'\r\n\r\n'
    std::string r = "0\r\n";
    for (const auto& f : footers_) {
        r += f;
        r += "\r\n";
    }
    r += "\r\n";
    return r;
}

// --- compressed ------------------------------------------------------------------------------------

// zlib.compressobj(level): deflate with the zlib header, 15-bit window, memLevel 8.
struct compressed_producer::zstate {
    z_stream s{};
    explicit zstate(int level) {
        if (deflateInit(&s, level) != Z_OK)
            throw std::runtime_error(fmt::format("deflateInit(level {}) failed", level));
    }
    ~zstate() { deflateEnd(&s); }
    zstate(const zstate&) = delete;
    zstate& operator=(const zstate&) = delete;

    // compressobj.compress(data) with Z_NO_FLUSH, or compressobj.flush() with Z_FINISH.
    std::string deflate_some(std::string_view in, int flush) {
        std::string out;
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        s.avail_in = static_cast<uInt>(in.size());
        char buf[16384];
        for (;;) {
            s.next_out = reinterpret_cast<Bytef*>(buf);
            s.avail_out = sizeof buf;
            int rc = deflate(&s, flush);
            if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate: stream error");
            out.append(buf, sizeof buf - s.avail_out);
            if (flush == Z_FINISH ? rc == Z_STREAM_END : s.avail_out != 0) break;
        }
        return out;
    }
};

compressed_producer::compressed_producer(producer_ptr p, int level)
    : producer_(std::move(p)), z_(std::make_unique<zstate>(level)) {
    if (!producer_) throw std::invalid_argument("compressed_producer: null producer");
}

compressed_producer::~compressed_producer() = default;

std::string compressed_producer::more() {
    if (!producer_) return {};
    // Feed until deflate has some output (it buffers small inputs).
    for (;;) {
        std::string data = pull(*producer_);
        if (data.empty()) {
            if (!producer_->ready()) return {};  // stalled; what deflate holds waits with it
            producer_.reset();
            return z_->deflate_some({}, Z_FINISH);
        }
        std::string c = z_->deflate_some(data, Z_NO_FLUSH);
        if (!c.empty()) return c;
    }
}

// --- escaping --------------------------------------------------------------------------------------

escaping_producer::escaping_producer(producer_ptr p, std::string esc_from, std::string esc_to)
    : producer_(std::move(p)), esc_from_(std::move(esc_from)), esc_to_(std::move(esc_to)) {
    if (!producer_) throw std::invalid_argument("escaping_producer: null producer");
    if (esc_from_.empty()) throw std::invalid_argument("escaping_producer: empty esc_from");
}

std::string escaping_producer::more() {
    if (!producer_) return {};
    for (;;) {
        std::string data = pull(*producer_);
        if (data.empty()) {
            if (!producer_->ready()) return {};  // stalled
            // medusa keeps a trailing partial match ("...\r\n" with esc_from "\r\n.") forever
            // and so drops it; it cannot become a match any more, so it is sent as it is.
            producer_.reset();
            return std::exchange(pending_, {});
        }
        std::string in = std::move(pending_);
        pending_.clear();
        in += data;
        // buffer.replace(esc_from, esc_to): left to right, non-overlapping.
        std::string out;
        out.reserve(in.size());
        size_t pos = 0;
        for (size_t i; (i = in.find(esc_from_, pos)) != std::string::npos;
             pos = i + esc_from_.size()) {
            out.append(in, pos, i - pos);
            out += esc_to_;
        }
        out.append(in, pos, std::string::npos);
        // Hold back a prefix of esc_from at the end: the next piece may complete it.
        size_t keep = find_prefix_at_end(out, esc_from_);
        pending_.assign(out, out.size() - keep, keep);
        out.resize(out.size() - keep);
        // medusa returns the empty rest here (ending the output early); ask for more instead.
        if (!out.empty()) return out;
    }
}

}  // namespace medusa
