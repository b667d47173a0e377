// The queue a mutation_writer (grove/actors/mutation_writer.hpp) shares with its replica: writers
// append operations, the replica takes all of them at once when a mutation_batch names the queue.
// CAF-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
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

  /// Queues `op`; false when max_queued operations wait already. Into an empty queue it calls
  /// `wake`, which sends the replica a mutation_batch (none is on its way that would take `op`).
  /// Behind others, it returns only once the batch that takes `op` was sent: a writer that then
  /// messages the replica must find that batch ahead of its message. The batch is sent outside the
  /// lock, so the replica's take and the other writers do not wait for a send.
  template <class Wake>
  bool push(crdt::operation op, Wake&& wake) {
    std::uint64_t batch = 0;
    bool first = false;
    {
      std::lock_guard lock{lock_};
      if (queued_.size() >= max_queued_) return false;
      queued_.push_back(std::move(op));
      first = queued_.size() == 1 || std::exchange(orphaned_, false);
      batch = first ? ++batches_ : batches_;
    }
    if (first) {
      try {
        wake();
      } catch (...) {  // no batch is on its way: the next push sends one
        std::lock_guard lock{lock_};
        orphaned_ = true;
        mark_sent(batch);
        throw;
      }
      mark_sent(batch);
    } else {
      for (int spins = 0; sent_.load(std::memory_order_acquire) < batch;)
        if (++spins > 64) std::this_thread::yield();
    }
    return true;
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
  // Batches are sent in the order begun (a batch begins only once the replica took the one before,
  // which it got), but their writers may mark them in another order.
  void mark_sent(std::uint64_t batch) {
    for (auto seen = sent_.load(std::memory_order_relaxed);
         seen < batch && !sent_.compare_exchange_weak(seen, batch, std::memory_order_release);) {
    }
  }

  // Writers touch the first cache line, the replica the second (but for a take).
  alignas(64) mutable spin_lock lock_;
  std::vector<crdt::operation> queued_;  // guarded by lock_
  std::uint64_t batches_ = 0;            // batches begun (pushes into an empty queue); guarded by lock_
  bool orphaned_ = false;                // queued operations wait for no batch (a send failed); guarded by lock_
  std::atomic<std::uint64_t> sent_{0};   // the last batch whose message was sent
  const std::size_t max_queued_;
  alignas(64) std::vector<crdt::operation> taken_;  // the replica's (swapped with queued_ under lock_)
  std::uint64_t refused_ = 0;                       // guarded by lock_
  std::optional<error> last_refusal_;               // guarded by lock_
};

}  // namespace grove::actors::detail
