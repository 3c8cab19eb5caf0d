// tally: add to a statistic that other threads may read or bump, at the price of one thread's
// plain add while the process has only one thread.
//
// A locked read-modify-write (x86's `lock xadd`) costs tens of cycles and orders every memory
// access around it; a request bumps eight statistics, and in the usual server (one loop thread,
// no worker pool) nobody else could ever race with them. glibc keeps `__libc_single_threaded`
// true until the process's first pthread_create() (libstdc++'s shared_ptr reads the same flag
// to skip its own locked counts). While it is true, tally_add() does a relaxed load and store:
// still atomic accesses, only not one indivisible step, which no other thread exists to notice.
// Once a thread has been created the flag is false and the add is a real fetch_add; the thread's
// creation orders every earlier plain add before anything the new thread does.
//
// So the plain add is the single-loop server's: a worker pool (medusa-demo's --threads, 2 by
// default), or the thread backend_available(backend::uring) starts to probe the kernel, makes
// every later add a fetch_add, for the rest of the process. (Without glibc's flag, older than
// 2.32 or another C library, it is always a fetch_add.)
#pragma once

#include <atomic>
#include <cstdint>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MEDUSA_HAVE_SINGLE_THREADED 1
#endif

namespace medusa {

// True while the process has one thread (glibc says so), when a plain add is safe.
inline bool process_single_threaded() {
#ifdef MEDUSA_HAVE_SINGLE_THREADED
    return __libc_single_threaded;
#else
    return false;
#endif
}

// Add `by` to `value`; returns the value before, as fetch_add() does.
inline uint64_t tally_add(std::atomic<uint64_t>& value, uint64_t by) {
    if (process_single_threaded()) {
        uint64_t before = value.load(std::memory_order_relaxed);
        value.store(before + by, std::memory_order_relaxed);
        return before;
    }
    return value.fetch_add(by, std::memory_order_relaxed);
}

// Subtract `by` from `value`; returns the value before.
inline uint64_t tally_sub(std::atomic<uint64_t>& value, uint64_t by) {
    return tally_add(value, uint64_t{0} - by);
}

}  // namespace medusa
