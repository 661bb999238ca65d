#pragma once
// A counting replacement of the global allocator: while `counting` is set, every heap
// allocation of the process increments `allocations`. Include it in exactly one translation
// unit of a test program (it defines the global operator new and delete).

#include <atomic>
#include <cstdlib>
#include <new>

// The replacement operators below pair malloc with free by design; g++ cannot see that.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace rnnx_test {
inline std::atomic<long> allocations{0};
inline std::atomic<bool> counting{false};
}  // namespace rnnx_test

void* operator new(std::size_t size) {
  if (rnnx_test::counting) ++rnnx_test::allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (rnnx_test::counting) ++rnnx_test::allocations;
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
