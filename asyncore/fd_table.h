// fd_table: what the socket map keeps per descriptor, indexed by the descriptor's number.
//
// The kernel hands out the lowest free descriptor, so the numbers in use are dense from 0: a
// vector indexed by them (redis's ae.c keeps its events the same way) finds an entry with one
// index instead of a hash, and costs about sizeof(T) per slot with no node of its own; a
// hash map node cost about twice that per connection. The vector grows to the highest
// descriptor seen and keeps its size (a burst to 100,000 connections leaves about 4 MB behind).
#pragma once

#include <cstddef>
#include <vector>

namespace medusa {

template <typename T>
class fd_table {
public:
    // The entry for fd, or nullptr.
    T* find(int fd) {
        if (fd < 0 || size_t(fd) >= slots_.size() || !slots_[size_t(fd)].used) return nullptr;
        return &slots_[size_t(fd)];
    }
    const T* find(int fd) const { return const_cast<fd_table*>(this)->find(fd); }
    bool contains(int fd) const { return find(fd) != nullptr; }

    // A fresh entry for fd, which must not be in the table.
    T& insert(int fd) {
        if (size_t(fd) >= slots_.size()) slots_.resize(size_t(fd) + 1);
        slot& s = slots_[size_t(fd)];
        static_cast<T&>(s) = T{};
        s.used = true;
        ++count_;
        return s;
    }
    void erase(int fd) {
        if (T* e = find(fd)) {
            *e = T{};  // let go of what it held now
            slots_[size_t(fd)].used = false;
            --count_;
        }
    }

    size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    // One past the highest descriptor the table has room for.
    int limit() const { return int(slots_.size()); }

    // f(fd, entry) for every entry, in descriptor order. f must not insert or erase.
    template <typename F>
    void for_each(F&& f) {
        for (size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].used) f(int(i), static_cast<T&>(slots_[i]));
    }
    template <typename F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].used) f(int(i), static_cast<const T&>(slots_[i]));
    }

private:
    // The flag sits in T's tail padding (a derived class may use it, unlike a member after
    // a T): a socket_map entry and its flag take 32 bytes, not 40.
    struct slot : T {
        bool used = false;
    };
    std::vector<slot> slots_;
    size_t count_ = 0;
};

}  // namespace medusa
