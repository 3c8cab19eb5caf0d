// block_pool and pool_allocator: memory blocks of one size that a thread keeps for reuse.
//
// An object made and destroyed once per request (an http_request, with its shared_ptr control
// block) would cost a malloc and a free each time. Made with
//   std::allocate_shared<http_request>(pool_allocator<http_request>{}, ...)
// its block comes from the thread's pool and goes back there when the last shared_ptr lets go:
// after the first few requests, none allocates.
//
// Bounded: a pool keeps at most max_blocks free blocks per thread (more are freed at once), so
// an idle server holds at most that many blocks of each pooled size. A block freed on another
// thread joins that thread's pool; nothing is shared, so there is no lock.
//
// Under AddressSanitizer the kept blocks are poisoned (asan.h): a use of a destroyed object is
// still reported, as it would be for freed memory.
#pragma once

#include <cstddef>
#include <new>

#include "asyncore/asan.h"

namespace medusa {

template <size_t Size, size_t Align>
class block_pool {
public:
    static constexpr size_t max_blocks = 64;

    static void* allocate() {
        if (!gone()) {
            pool& p = mine();
            if (p.count > 0) {
                void* b = p.blocks[--p.count];
                asan::unpoison(b, Size);
                return b;
            }
        }
        return ::operator new(Size, std::align_val_t(Align));
    }

    static void deallocate(void* b) noexcept {
        if (!gone()) {
            pool& p = mine();
            if (p.count < max_blocks) {
                asan::poison(b, Size);
                p.blocks[p.count++] = b;
                return;
            }
        }
        ::operator delete(b, std::align_val_t(Align));
    }

    // Free blocks this thread keeps now (for tests).
    static size_t kept() { return gone() ? 0 : mine().count; }

private:
    struct pool {
        void* blocks[max_blocks];
        size_t count = 0;
        ~pool() {
            gone() = true;
            while (count > 0) {
                void* b = blocks[--count];
                asan::unpoison(b, Size);
                ::operator delete(b, std::align_val_t(Align));
            }
        }
    };
    static pool& mine() {
        thread_local pool p;
        return p;
    }
    // True once this thread's pool has been destroyed (a block freed while the thread exits is
    // then freed for good). A plain bool: it outlives the pool.
    static bool& gone() {
        thread_local bool g = false;
        return g;
    }
};

// Memory for a small object whose size is known only at run time (a producer of some derived
// class: see producer::operator new): rounded up to 64, 128 or 256 bytes and kept in that size's
// pool; anything larger comes from the heap. Alignment is operator new's default (16).
inline void* small_allocate(size_t n) {
    if (n <= 64) return block_pool<64, 16>::allocate();
    if (n <= 128) return block_pool<128, 16>::allocate();
    if (n <= 256) return block_pool<256, 16>::allocate();
    return ::operator new(n, std::align_val_t(16));
}
// `n` is the size given to small_allocate().
inline void small_deallocate(void* p, size_t n) noexcept {
    if (n <= 64) {
        block_pool<64, 16>::deallocate(p);
    } else if (n <= 128) {
        block_pool<128, 16>::deallocate(p);
    } else if (n <= 256) {
        block_pool<256, 16>::deallocate(p);
    } else {
        ::operator delete(p, std::align_val_t(16));
    }
}

// An allocator over block_pool, for std::allocate_shared (which rebinds it to its control block
// type and allocates one of those at a time). Other counts go to the heap, with the same
// operator new the pool uses.
template <typename T>
struct pool_allocator {
    using value_type = T;

    pool_allocator() = default;
    template <typename U>
    pool_allocator(const pool_allocator<U>&) noexcept {}

    T* allocate(size_t n) {
        if (n == 1) return static_cast<T*>(block_pool<sizeof(T), alignof(T)>::allocate());
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignof(T))));
    }
    void deallocate(T* p, size_t n) noexcept {
        if (n == 1) {
            block_pool<sizeof(T), alignof(T)>::deallocate(p);
        } else {
            ::operator delete(p, std::align_val_t(alignof(T)));
        }
    }

    template <typename U>
    bool operator==(const pool_allocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace medusa
