#include "grove/actors/metrics.hpp"

#include <algorithm>

namespace grove::actors {

duration_histogram::duration_histogram(std::initializer_list<double> upper_bounds) {
  for (double bound : upper_bounds) {
    if (size_ == max_bounds) break;
    bounds_[size_++] = std::chrono::nanoseconds(static_cast<std::int64_t>(bound * 1e9));
  }
}

void duration_histogram::observe(std::chrono::nanoseconds d) noexcept {
  auto end = bounds_.begin() + static_cast<std::ptrdiff_t>(size_);
  auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), end, d) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)), std::memory_order_relaxed);
}

std::vector<double> duration_histogram::upper_bounds() const {
  std::vector<double> out;
  for (std::size_t i = 0; i < size_; ++i) out.push_back(static_cast<double>(bounds_[i].count()) / 1e9);
  return out;
}

std::vector<std::uint64_t> duration_histogram::bucket_counts() const {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i <= size_; ++i) out.push_back(counts_[i].load(std::memory_order_relaxed));
  return out;
}

double duration_histogram::sum_seconds() const noexcept {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

}  // namespace grove::actors
