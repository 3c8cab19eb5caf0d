// small_vector: a vector that keeps its first N elements inside itself, and goes to the heap only
// past them.
//
// What a request carries a handful of (its header fields, the pieces of its reply body) costs no
// allocation this way: a request with a Host header and one pushed body allocates nothing for
// either list. Past N elements it behaves as std::vector (capacity doubles, elements move).
//
// Only what the framework uses: push_back/emplace_back, indexing, iteration, back(), clear(),
// erase_if. Elements must be nothrow-movable (they are moved when the storage grows).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace medusa {

template <typename T, size_t N>
class small_vector {
    static_assert(N > 0);
    static_assert(std::is_nothrow_move_constructible_v<T>);

public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    small_vector() = default;
    small_vector(const small_vector& o) {
        reserve(o.size_);
        for (const T& v : o) push_back(v);
    }
    small_vector(small_vector&& o) noexcept { take(o); }
    small_vector& operator=(const small_vector& o) {
        if (this != &o) {
            clear();
            reserve(o.size_);
            for (const T& v : o) push_back(v);
        }
        return *this;
    }
    small_vector& operator=(small_vector&& o) noexcept {
        if (this != &o) {
            clear();
            free_heap();
            take(o);
        }
        return *this;
    }
    ~small_vector() {
        clear();
        free_heap();
    }

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    size_t capacity() const { return capacity_; }

    T* data() { return data_; }
    const T* data() const { return data_; }
    T& operator[](size_t i) { return data()[i]; }
    const T& operator[](size_t i) const { return data()[i]; }
    T& back() { return data()[size_ - 1]; }
    const T& back() const { return data()[size_ - 1]; }
    iterator begin() { return data(); }
    iterator end() { return data() + size_; }
    const_iterator begin() const { return data(); }
    const_iterator end() const { return data() + size_; }

    template <typename... A>
    T& emplace_back(A&&... args) {
        if (size_ == capacity_) return grow_and_emplace(std::forward<A>(args)...);
        T* slot = ::new (static_cast<void*>(data() + size_)) T(std::forward<A>(args)...);
        ++size_;
        return *slot;
    }
    void push_back(const T& v) { emplace_back(v); }
    void push_back(T&& v) { emplace_back(std::move(v)); }

    // Copies of n elements from elsewhere (not from this vector), after the others.
    void append(const T* from, size_t n) {
        reserve(size_ + n);
        std::uninitialized_copy_n(from, n, data() + size_);
        size_ += n;
    }

    // Destroys the elements; heap storage, if any, is kept for reuse.
    void clear() {
        std::destroy(begin(), end());
        size_ = 0;
    }

    void reserve(size_t n) {
        if (n <= capacity_) return;
        move_to(std::allocator<T>{}.allocate(n), n);
    }

    // Removes the elements for which pred is true, keeping the others in order; returns how
    // many went.
    template <typename P>
    friend size_t erase_if(small_vector& v, P pred) {
        T* out = v.begin();
        for (T* in = v.begin(); in != v.end(); ++in) {
            if (pred(*in)) continue;
            if (out != in) *out = std::move(*in);
            ++out;
        }
        size_t removed = size_t(v.end() - out);
        std::destroy(out, v.end());
        v.size_ -= removed;
        return removed;
    }

private:
    // The new element is made in the new storage before the old ones move there, so that
    // push_back(v[0]) on a full vector copies an element that still exists (as std::vector).
    template <typename... A>
    T& grow_and_emplace(A&&... args) {
        size_t n = capacity_ * 2;
        T* fresh = std::allocator<T>{}.allocate(n);
        T* slot;
        try {
            slot = ::new (static_cast<void*>(fresh + size_)) T(std::forward<A>(args)...);
        } catch (...) {
            std::allocator<T>{}.deallocate(fresh, n);
            throw;
        }
        move_to(fresh, n);
        ++size_;
        return *slot;
    }

    // The elements move into `fresh` (room for n), which becomes the storage.
    void move_to(T* fresh, size_t n) noexcept {
        T* old = data();
        for (size_t i = 0; i < size_; ++i) {
            ::new (static_cast<void*>(fresh + i)) T(std::move(old[i]));
            old[i].~T();
        }
        free_heap();
        data_ = fresh;
        capacity_ = n;
    }

    T* inline_data() { return std::launder(reinterpret_cast<T*>(inline_)); }
    bool on_heap() const { return data_ != inline_data(); }
    const T* inline_data() const { return std::launder(reinterpret_cast<const T*>(inline_)); }

    void free_heap() {
        if (on_heap()) std::allocator<T>{}.deallocate(data_, capacity_);
        data_ = inline_data();
        capacity_ = N;
    }
    // Moves o's elements here (this is empty and inline); o is left empty and inline.
    void take(small_vector& o) noexcept {
        if (o.on_heap()) {
            data_ = std::exchange(o.data_, o.inline_data());
            capacity_ = std::exchange(o.capacity_, N);
            size_ = std::exchange(o.size_, 0);
            return;
        }
        for (size_t i = 0; i < o.size_; ++i) {
            ::new (static_cast<void*>(inline_data() + i)) T(std::move(o.inline_data()[i]));
            o.inline_data()[i].~T();
        }
        size_ = std::exchange(o.size_, 0);
    }

    alignas(T) unsigned char inline_[N * sizeof(T)];
    // The elements: inline_ or a heap block (one load for data(), begin() and end()).
    T* data_ = inline_data();
    size_t size_ = 0;
    size_t capacity_ = N;
};

}  // namespace medusa
