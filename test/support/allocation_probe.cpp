#include "support/allocation_probe.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest_allocation{0};
}  // namespace

void* operator new(std::size_t size) {
  if (tracking.load(std::memory_order_relaxed)) {
    auto seen = largest_allocation.load();
    while (size > seen && !largest_allocation.compare_exchange_weak(seen, size)) {
    }
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace grove::testing {

allocation_probe::allocation_probe() {
  largest_allocation = 0;
  tracking = true;
}

allocation_probe::~allocation_probe() { tracking = false; }

std::size_t allocation_probe::largest() const { return largest_allocation.load(); }

}  // namespace grove::testing
