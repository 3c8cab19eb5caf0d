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
#pragma once

#include <atomic>
#include <cstdint>
#include <sys/single_threaded.h>

namespace medusa {

// Add `by` to `value`; returns the value before, as fetch_add() does.
inline uint64_t tally_add(std::atomic<uint64_t>& value, uint64_t by) {
    if (__libc_single_threaded) {
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
