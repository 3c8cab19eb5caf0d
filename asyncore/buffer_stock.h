// buffer_stock: string buffers a thread keeps for reuse.
//
// A server that answers every request builds a few strings per request (the copy of the request
// head, the reply's status line and headers) and lets them go a moment later, when the reply
// has been sent. Taking those buffers from a small per-thread stock, and giving them back when
// they are done with, spares an allocation and a free per buffer per request.
//
//   std::string text = buffer_stock::take(256);  // empty, room for at least 256 bytes
//   std::string out = buffer_stock::take_sized(n);  // n bytes to overwrite, not zero-filled
//   ...
//   buffer_stock::give(std::move(text));         // back to the stock (or freed)
//
// Bounded: at most max_buffers are kept per thread, each of a capacity between min_capacity and
// max_capacity (a buffer outside that range is simply freed), so a thread holds at most
// max_buffers * max_capacity bytes it is not using. A buffer may be given back on another
// thread than the one it came from; it joins that thread's stock. Nothing is shared between
// threads, so there is no lock. (A thread that frees more than it allocates, a handler thread
// letting go of requests, fills its own stock and frees the rest: bounded, a little slower.)
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "asyncore/asan.h"

namespace medusa::buffer_stock {

inline constexpr size_t min_capacity = 64;
inline constexpr size_t max_capacity = 16 << 10;
inline constexpr size_t max_buffers = 32;

namespace detail {
// True once this thread's stock has been destroyed (a buffer given back while the thread exits
// is then freed). A plain bool: it outlives the stock.
inline bool& gone() {
    thread_local bool g = false;
    return g;
}
struct stock {
    std::string buffers[max_buffers];
    size_t count = 0;
    ~stock() {
        gone() = true;
        for (size_t i = 0; i < count; ++i) asan::unpoison(buffers[i].data(), buffers[i].capacity() + 1);
    }
};
inline stock& mine() {
    thread_local stock s;
    return s;
}
}  // namespace detail

namespace detail {
// A kept buffer as it was given back (its old bytes and length), or an empty string.
inline std::string take_kept() {
    std::string out;
    if (!gone()) {
        stock& s = mine();
        if (s.count > 0) {
            out = std::move(s.buffers[--s.count]);
            asan::unpoison(out.data(), out.capacity() + 1);
        }
    }
    return out;
}
}  // namespace detail

// An empty string with room for at least `capacity` bytes.
inline std::string take(size_t capacity) {
    std::string out = detail::take_kept();
    out.clear();
    out.reserve(capacity);  // no-op when the kept buffer is large enough
    return out;
}

// A string of exactly `size` bytes whose values are unspecified, for a caller that writes every
// one of them. A kept buffer keeps the length it was given back with, so one taken back at
// that length or less is not zero-filled first (std::string::resize fills what it adds).
inline std::string take_sized(size_t size) {
    std::string out = detail::take_kept();
    out.resize(size);
    return out;
}

// Keep `buffer` for a later take(), if it is worth keeping and the stock has room.
inline void give(std::string&& buffer) noexcept {
    size_t cap = buffer.capacity();
    if (cap < min_capacity || cap > max_capacity) return;
    if (detail::gone()) return;
    detail::stock& s = detail::mine();
    if (s.count == max_buffers) return;
    // (Not cleared: its length stays, for take_sized(); take() empties it.)
    // Under ASan a kept buffer is poisoned (asan.h): a view into the request head or reply it
    // held, used after its owner let go, is reported instead of reading the next one's bytes.
    asan::poison(buffer.data(), cap + 1);
    s.buffers[s.count++] = std::move(buffer);
}

// Buffers this thread keeps now (for tests).
inline size_t kept() { return detail::gone() ? 0 : detail::mine().count; }

}  // namespace medusa::buffer_stock
