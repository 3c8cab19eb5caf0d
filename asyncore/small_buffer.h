// small_buffer: bytes kept inside the object up to N, on the heap past that.
//
// For the buffers that come and go with each request (the copy of a request's head, a reply's
// header lines): most are a few hundred bytes, so they live in the object that owns them (a
// request, from a pool) and cost no allocation, and no trip through a shared stock of buffers.
// A larger one moves to the heap, as a std::string would.
//
//   small_buffer<512> b;
//   b.append("GET / HTTP/1.1\r\n");
//   std::string_view v = b.view();   // valid until the next change, or a move of b
//
// Unlike std::string it does not zero-fill or keep a terminating NUL, and a move copies the
// bytes when they are inline (the moved-to buffer has its own inline space): a view taken before
// a move points into the old object. Indices (offsets) stay valid across a move; keep those.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace medusa {

template <size_t N>
class small_buffer {
    static_assert(N > 0 && N <= UINT32_MAX);

public:
    small_buffer() = default;
    small_buffer(const small_buffer& o) { append(o.data(), o.size()); }
    small_buffer(small_buffer&& o) noexcept { take(o); }
    small_buffer& operator=(const small_buffer& o) {
        if (this != &o) {
            clear();
            append(o.data(), o.size());
        }
        return *this;
    }
    small_buffer& operator=(small_buffer&& o) noexcept {
        if (this != &o) {
            heap_.reset();
            data_ = inline_;
            capacity_ = N;
            take(o);
        }
        return *this;
    }
    ~small_buffer() = default;

    char* data() { return data_; }
    const char* data() const { return data_; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const { return {data_, size_}; }
    // Whether the bytes are in the object itself (no heap block).
    bool is_inline() const { return data_ == inline_; }

    void clear() { size_ = 0; }
    // Keep the first n bytes (n <= size()).
    void truncate(size_t n) { size_ = uint32_t(std::min<size_t>(n, size_)); }
    // n bytes in all: fewer keeps the first n; more adds bytes of no particular value, for the
    // caller to write (no zero-filling, unlike std::string::resize).
    void resize(size_t n) {
        if (n > capacity_) grow(n);
        size_ = uint32_t(n);
    }
    // Room for n bytes in all before the next growth.
    void reserve(size_t n) {
        if (n > capacity_) grow(n);
    }
    void append(const char* p, size_t n) {
        if (size_t(size_) + n > capacity_) grow(size_t(size_) + n);
        if (n > 0) std::memcpy(data_ + size_, p, n);
        size_ += uint32_t(n);
    }
    void append(std::string_view s) { append(s.data(), s.size()); }
    void push_back(char c) { append(&c, 1); }
    void assign(std::string_view s) {
        clear();
        append(s);
    }

private:
    void grow(size_t n) {
        size_t cap = std::max(n, 2 * size_t(capacity_));
        auto fresh = std::make_unique_for_overwrite<char[]>(cap);
        if (size_ > 0) std::memcpy(fresh.get(), data_, size_);
        heap_ = std::move(fresh);
        data_ = heap_.get();
        capacity_ = uint32_t(cap);
    }
    // Take o's bytes (its heap block, or a copy of its inline bytes); o is left empty, inline.
    // This object is empty and inline when called.
    void take(small_buffer& o) noexcept {
        if (o.heap_) {
            heap_ = std::move(o.heap_);
            data_ = heap_.get();
            capacity_ = o.capacity_;
            o.data_ = o.inline_;
            o.capacity_ = N;
        } else if (o.size_ > 0) {
            std::memcpy(inline_, o.inline_, o.size_);
        }
        size_ = o.size_;
        o.size_ = 0;
    }

    char* data_ = inline_;
    uint32_t size_ = 0;
    uint32_t capacity_ = N;
    std::unique_ptr<char[]> heap_;
    char inline_[N];
};

}  // namespace medusa
