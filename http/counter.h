// counter: a statistic the status page shows (medusa's counter.py): hits, files sent, bytes out.
//
// medusa's counter exists to survive integer overflow (Python 2 ints overflowed into longs). Here
// it is an unsigned 64-bit value, which wraps after 2^64 events (never, in practice); decrementing
// below zero wraps too, so keep increments and decrements paired.
//
// The value is atomic (relaxed): a handler on a worker thread may bump a counter the loop thread
// shows. It is a statistic, not a way to order anything between threads. While the process has
// one thread, a bump is a plain add (asyncore/tally.h says why that is safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "asyncore/tally.h"

namespace medusa::http {

class counter {
public:
    counter(uint64_t initial_value = 0) : value_(initial_value) {}
    counter(const counter& other) : value_(other.as_long()) {}
    counter& operator=(const counter& other) {
        value_.store(other.as_long(), std::memory_order_relaxed);
        return *this;
    }

    // Add `by`; returns the value before, as medusa's increment() does.
    uint64_t increment(uint64_t by = 1) { return tally_add(value_, by); }
    // Subtract `by`; returns the value before.
    uint64_t decrement(uint64_t by = 1) { return tally_sub(value_, by); }

    uint64_t as_long() const { return value_.load(std::memory_order_relaxed); }
    // True when non-zero (medusa's __bool__).
    explicit operator bool() const { return as_long() != 0; }
    // The value in decimal (medusa's __str__), for the status page.
    std::string to_string() const;

private:
    std::atomic<uint64_t> value_;
};

}  // namespace medusa::http
