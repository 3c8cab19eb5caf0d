// asan: telling AddressSanitizer about memory kept for reuse.
//
// Memory a pool or stock keeps between uses (block_pool.h, buffer_stock.h) is still the program's
// as far as the allocator knows, so a use of it after its owner let go would go unnoticed. Under
// ASan these calls mark it unusable while it is kept (poison) and usable again when it is handed
// out (unpoison); elsewhere they do nothing. (gcc says ASan is on with __SANITIZE_ADDRESS__,
// clang with __has_feature(address_sanitizer).)
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define MEDUSA_ASAN_ON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEDUSA_ASAN_ON 1
#endif
#endif

#if defined(MEDUSA_ASAN_ON)
#include <sanitizer/asan_interface.h>
#endif

namespace medusa::asan {

#if defined(MEDUSA_ASAN_ON)
inline constexpr bool on = true;
inline void poison(const void* p, size_t n) { __asan_poison_memory_region(p, n); }
inline void unpoison(const void* p, size_t n) { __asan_unpoison_memory_region(p, n); }
inline bool is_poisoned(const void* p) { return __asan_address_is_poisoned(p) != 0; }
#else
inline constexpr bool on = false;
inline void poison(const void*, size_t) {}
inline void unpoison(const void*, size_t) {}
inline bool is_poisoned(const void*) { return false; }
#endif

}  // namespace medusa::asan

#undef MEDUSA_ASAN_ON
