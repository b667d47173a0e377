// The queue a mutation_writer (grove/actors/mutation_writer.hpp) shares with its replica: writers
// append operations, the replica takes all of them at once when a mutation_batch names the queue.
// CAF-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "grove/crdt/error.hpp"
#include "grove/crdt/operation.hpp"

namespace grove::actors::detail {

// A lock held for a vector append or swap only: a futex-based mutex made writers and the replica
// wait in the kernel on each other (most of the time of a write, perf), spinning does not. After
// a few spins a waiter yields, in case the holder was preempted.
class spin_lock {
public:
  void lock() noexcept {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins)
      while (locked_.load(std::memory_order_relaxed))
        if (++spins > 64) std::this_thread::yield();
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> locked_{false};
};

class pending_mutations {
public:
  explicit pending_mutations(std::size_t max_queued) : max_queued_(max_queued) {}

  /// How push went: queued into an empty queue (the caller sends the replica a mutation_batch,
  /// since none is on its way that would take this operation), queued behind others, or refused
  /// because max_queued operations wait already.
  enum class pushed : std::uint8_t { first, behind, full };

  pushed push(crdt::operation op) {
    std::lock_guard lock{lock_};
    if (queued_.size() >= max_queued_) return pushed::full;
    queued_.push_back(std::move(op));
    return queued_.size() == 1 ? pushed::first : pushed::behind;
  }

  /// Every queued operation, in the order pushed; the queue is empty afterwards. For the replica
  /// only (one consumer): the operations stay valid until its next take.
  const std::vector<crdt::operation>& take() {
    taken_.clear();  // outside the lock: destroying operations can take a while
    std::lock_guard lock{lock_};
    queued_.swap(taken_);
    return taken_;
  }

  /// The replica refused `count` of the operations it took, the last with `last`.
  void count_refusals(std::uint64_t count, const std::optional<error>& last) {
    if (count == 0) return;
    std::lock_guard lock{lock_};
    refused_ += count;
    last_refusal_ = last;
  }

  std::uint64_t refused() const {
    std::lock_guard lock{lock_};
    return refused_;
  }

  std::optional<error> last_refusal() const {
    std::lock_guard lock{lock_};
    return last_refusal_;
  }

  std::size_t max_queued() const { return max_queued_; }

private:
  // Writers touch the first cache line, the replica the second (but for a take).
  alignas(64) mutable spin_lock lock_;
  std::vector<crdt::operation> queued_;  // guarded by lock_
  const std::size_t max_queued_;
  alignas(64) std::vector<crdt::operation> taken_;  // the replica's (swapped with queued_ under lock_)
  std::uint64_t refused_ = 0;                       // guarded by lock_
  std::optional<error> last_refusal_;               // guarded by lock_
};

}  // namespace grove::actors::detail
