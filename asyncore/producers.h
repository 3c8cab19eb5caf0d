// producers: lazy sources of output (medusa's producers.py).
//
// A producer hands out its bytes a piece at a time through more(); an empty string means it is
// exhausted. async_chat::push_with_producer() queues one, and the channel pulls from it only when
// the socket can take more, so a 1 GiB file costs one buffer, not 1 GiB.
//
// Two extensions over medusa's protocol, both optional:
//   - ready(): false while a producer has nothing *yet* (a thread still computing, a CGI script
//     still running). The channel then stops asking until someone calls update_interest() on it.
//   - sendfile_source(): a producer whose bytes are a file range sent untransformed exposes it,
//     and the channel sends it with sendfile(2) instead of copying it through user space.
//
// So an empty more() means "finished" only when ready() is true and sendfile_source() is null.
// A producer may return empty while stalled (ready() false: ask again after update_interest())
// or when what comes next is a file range (sendfile_source() non-null: send it, or call more()
// again to have it copied). composite_producer does the latter when it reaches a
// file_producer, so an HTTP reply "headers, then file" still goes out through sendfile(2).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/block_pool.h"

namespace medusa {

class producer {
public:
    virtual ~producer() = default;
    // A reply's producers (a file, the hook that counts its bytes) are made and let go once per
    // reply: their memory comes from the thread's block pools (block_pool.h), not the heap.
    // (Sized delete: a virtual destructor passes the size of the class that was made.)
    static void* operator new(size_t n) { return small_allocate(n); }
    static void operator delete(void* p, size_t n) noexcept { small_deallocate(p, n); }
    // An over-aligned producer, and placement new, get the global forms as usual.
    static void* operator new(size_t n, std::align_val_t a) { return ::operator new(n, a); }
    static void operator delete(void* p, size_t, std::align_val_t a) noexcept {
        ::operator delete(p, a);  // (the sized global form needs -fsized-deallocation in clang)
    }
    static void* operator new(size_t, void* where) noexcept { return where; }
    static void operator delete(void*, void*) noexcept {}
    // The next piece of output; empty when exhausted (and on every call after that). See above
    // for the two cases where empty does not mean exhausted.
    virtual std::string more() = 0;
    // False while the producer has nothing yet but is not finished.
    virtual bool ready() const { return true; }
    // A file range the channel may send with sendfile(2) instead of calling more().
    struct file_range {
        int fd;
        off_t offset;
        uint64_t length;
    };
    // Non-null only while the remaining output is exactly that range, untransformed. The channel
    // calls consumed(n) after sending n bytes of it.
    virtual const file_range* sendfile_source() const { return nullptr; }
    virtual void consumed(uint64_t /*n*/) {}
};

using producer_ptr = std::unique_ptr<producer>;

// simple_producer(data, buffer_size=1024): hands out `data` in slices of buffer_size.
class simple_producer : public producer {
public:
    explicit simple_producer(std::string data, size_t buffer_size = 1024);
    std::string more() override;

private:
    std::string data_;
    size_t pos_ = 0;
    size_t buffer_size_;
};

// scanning_producer(data, buffer_size=1024): as simple_producer, reading forward by an index.
class scanning_producer : public producer {
public:
    explicit scanning_producer(std::string data, size_t buffer_size = 1024);
    std::string more() override;

private:
    std::string data_;
    size_t pos_ = 0;
    size_t buffer_size_;
};

// lines_producer(lines): up to 50 lines per more(), each followed by CRLF.
class lines_producer : public producer {
public:
    explicit lines_producer(std::vector<std::string> lines);
    std::string more() override;

private:
    std::vector<std::string> lines_;
    size_t pos_ = 0;
};

// buffer_list_producer(buffers): one buffer per more().
class buffer_list_producer : public producer {
public:
    explicit buffer_list_producer(std::vector<std::string> buffers);
    std::string more() override;

private:
    std::vector<std::string> buffers_;
    size_t pos_ = 0;
};

// file_producer(fd): the rest of an open file, 64 KiB per more(); closes the file at EOF (and
// when destroyed). With a known length it also offers itself to sendfile(2).
class file_producer : public producer {
public:
    static constexpr size_t out_buffer_size = 1 << 16;
    // Takes ownership of fd. `length` is the bytes to send from `offset`; -1 means "to EOF",
    // which disables the sendfile path.
    explicit file_producer(int fd, off_t offset = 0, int64_t length = -1);
    // Borrows fd, which `owner` keeps open (a file_cache entry shared by every reply sending the
    // same file): the producer never closes it, it only lets go of the owner when done. Reads
    // use pread/sendfile at explicit offsets, so replies sharing the descriptor do not disturb
    // each other.
    file_producer(std::shared_ptr<const void> owner, int fd, off_t offset, uint64_t length);
    ~file_producer() override;
    std::string more() override;
    const file_range* sendfile_source() const override;
    void consumed(uint64_t n) override;

private:
    void close_file();
    int fd_;
    file_range range_;
    bool known_length_;
    std::shared_ptr<const void> owner_;  // set: fd_ is borrowed from it
};

// output_producer: a file-like object (write/writeline/writelines/flush) whose text is
// produced with LF turned into CRLF.
class output_producer : public producer {
public:
    void write(std::string_view data);
    void writeline(std::string_view line);
    void writelines(const std::vector<std::string>& lines);
    void flush() {}
    std::string more() override;

private:
    std::string data_;
    size_t pos_ = 0;  // handed out up to here (512 bytes per more())
};

// composite_producer(producers): each producer in turn until all are exhausted. A file range
// at the head is passed through to the channel (sendfile_source()).
class composite_producer : public producer {
public:
    explicit composite_producer(std::vector<producer_ptr> producers);
    std::string more() override;
    bool ready() const override;
    const file_range* sendfile_source() const override;
    void consumed(uint64_t n) override;

private:
    std::deque<producer_ptr> producers_;
};

// globbing_producer(p, buffer_size=1<<16): gathers p's small pieces into pieces of at least
// buffer_size (fewer, larger sends).
class globbing_producer : public producer {
public:
    explicit globbing_producer(producer_ptr p, size_t buffer_size = 1 << 16);
    std::string more() override;
    bool ready() const override { return producer_->ready(); }
    const file_range* sendfile_source() const override { return producer_->sendfile_source(); }
    void consumed(uint64_t n) override { producer_->consumed(n); }

private:
    producer_ptr producer_;
    size_t buffer_size_;
};

// hooked_producer(p, fn): passes p through, counting bytes; calls fn(bytes) once when p is
// exhausted (medusa's hooked_producer, which wrote the log line when a reply had been produced;
// http_request now uses async_chat::push_hook for that, which allocates nothing).
class hooked_producer : public producer {
public:
    hooked_producer(producer_ptr p, std::function<void(uint64_t bytes)> fn);
    std::string more() override;
    bool ready() const override { return !producer_ || producer_->ready(); }
    const file_range* sendfile_source() const override;
    void consumed(uint64_t n) override;

private:
    void finish();
    producer_ptr producer_;
    std::function<void(uint64_t)> function_;
    uint64_t bytes_ = 0;
};

// chunked_producer(p, footers): HTTP/1.1 chunked transfer coding of p's output:
// "%x\r\n<data>\r\n" per piece, then "0\r\n" + footers + "\r\n".
class chunked_producer : public producer {
public:
    explicit chunked_producer(producer_ptr p, std::vector<std::string> footers = {});
    std::string more() override;
    bool ready() const override { return !producer_ || producer_->ready(); }

private:
    producer_ptr producer_;
    std::vector<std::string> footers_;
};

// compressed_producer(p, level=5): zlib (deflate, with zlib header) of p's output.
class compressed_producer : public producer {
public:
    explicit compressed_producer(producer_ptr p, int level = 5);
    ~compressed_producer() override;
    std::string more() override;
    bool ready() const override { return !producer_ || producer_->ready(); }

private:
    producer_ptr producer_;
    struct zstate;
    std::unique_ptr<zstate> z_;
};

// escaping_producer(p, esc_from="\r\n.", esc_to="\r\n.."): replaces esc_from by esc_to in p's
// output, also where esc_from straddles two pieces (SMTP dot-stuffing).
class escaping_producer : public producer {
public:
    explicit escaping_producer(producer_ptr p, std::string esc_from = "\r\n.",
                               std::string esc_to = "\r\n..");
    std::string more() override;
    bool ready() const override { return !producer_ || producer_->ready(); }

private:
    producer_ptr producer_;
    std::string esc_from_, esc_to_;
    std::string pending_;
};

}  // namespace medusa
