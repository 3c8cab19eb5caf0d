// fifo: the queue async_chat keeps its output in (asynchat.py's `fifo` class).
//
// A ring buffer that owns no memory while it is empty: a server holding 10,000 idle keep-alive
// connections holds 10,000 empty queues, and std::deque allocates about 600 bytes for each even
// then (libstdc++ sets up its map and a first block in the constructor). Here the storage is made
// on the first push and given back by release() once the queue has drained, so memory follows the
// connections that are sending, not the ones that exist. (Rings of the first size go back to a
// small per-thread stock, at most 64 of them, that the next fifo to need one takes from.)
//
// Elements are moved when the ring grows (capacity doubles, from 4); references are valid until
// the next push. Not thread-safe, like the channel that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace medusa {

template <typename T>
class fifo {
public:
    fifo() = default;
    fifo(fifo&& o) noexcept
        : slots_(std::move(o.slots_)),
          capacity_(std::exchange(o.capacity_, 0)),
          head_(std::exchange(o.head_, 0)),
          size_(std::exchange(o.size_, 0)) {}
    fifo& operator=(fifo&& o) noexcept {
        slots_ = std::move(o.slots_);
        capacity_ = std::exchange(o.capacity_, 0);
        head_ = std::exchange(o.head_, 0);
        size_ = std::exchange(o.size_, 0);
        return *this;
    }

    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    // Slots of storage held (0 when released).
    size_t capacity() const { return capacity_; }

    T& front() { return slots_[head_]; }
    const T& front() const { return slots_[head_]; }
    T& back() { return (*this)[size_ - 1]; }
    T& operator[](size_t i) { return slots_[(head_ + i) & (capacity_ - 1)]; }
    const T& operator[](size_t i) const { return slots_[(head_ + i) & (capacity_ - 1)]; }

    void push_back(T value) {
        grow_if_full();
        (*this)[size_] = std::move(value);
        ++size_;
    }
    void push_front(T value) {
        grow_if_full();
        head_ = (head_ + capacity_ - 1) & (capacity_ - 1);
        slots_[head_] = std::move(value);
        ++size_;
    }
    void pop_front() {
        slots_[head_] = T{};  // let go of what it owned now, not when the slot is reused
        head_ = (head_ + 1) & (capacity_ - 1);
        if (--size_ == 0) head_ = 0;
    }
    // Drop every element; the storage stays for the next push.
    void clear() {
        while (!empty()) pop_front();
    }
    // Give the storage back if the queue is empty. Storage of the first size goes to a small
    // per-thread stock that the next fifo to need storage takes from: a server that sends a
    // reply on every request would otherwise allocate and free a ring per reply.
    void release() {
        if (size_ == 0 && capacity_ != 0) {
            if (capacity_ == first_capacity && !stock_gone()) {
                auto& stock = spare_rings();
                if (stock.size() < max_spare_rings) stock.push_back(std::move(slots_));
            }
            slots_.reset();
            capacity_ = 0;
            head_ = 0;
        }
    }

    // Front-to-back iteration (for gathering pieces into one writev).
    template <typename F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < size_; ++i)
            if (!f((*this)[i])) return;
    }

private:
    static constexpr uint32_t first_capacity = 4;
    static constexpr size_t max_spare_rings = 64;
    // Empty rings of first_capacity slots, kept by this thread for the next fifo that needs one.
    struct ring_stock {
        std::vector<std::unique_ptr<T[]>> rings;
        ring_stock() { rings.reserve(max_spare_rings); }  // release() then never allocates
        ~ring_stock() { stock_gone() = true; }
    };
    static std::vector<std::unique_ptr<T[]>>& spare_rings() {
        thread_local ring_stock stock;
        return stock.rings;
    }
    // True once this thread's stock has been destroyed (a fifo released while the thread exits).
    static bool& stock_gone() {
        thread_local bool gone = false;
        return gone;
    }

    void grow_if_full() {
        if (size_ < capacity_) return;
        if (capacity_ == 0 && !stock_gone()) {
            if (auto& stock = spare_rings(); !stock.empty()) {
                slots_ = std::move(stock.back());
                stock.pop_back();
                capacity_ = first_capacity;
                head_ = 0;
                return;
            }
        }
        uint32_t bigger = capacity_ ? capacity_ * 2 : first_capacity;  // a power of two: mask
        auto slots = std::make_unique<T[]>(bigger);
        for (uint32_t i = 0; i < size_; ++i) slots[i] = std::move((*this)[i]);
        slots_ = std::move(slots);
        capacity_ = bigger;
        head_ = 0;
    }

    std::unique_ptr<T[]> slots_;
    uint32_t capacity_ = 0;  // slots, a power of two, or 0
    uint32_t head_ = 0;
    uint32_t size_ = 0;
};

}  // namespace medusa
