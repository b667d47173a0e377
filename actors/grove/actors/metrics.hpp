// What a node counts for its Prometheus endpoint (node.hpp, option grove.metrics): atomics that the
// actors update where the work happens (the replicas' and membership's shells as they carry out
// their effects, the storage actor as it commits) and that a scrape reads. So an update costs a
// relaxed atomic add, and a scrape never reads an actor's state or waits for an actor.
// docs/operations.md lists the exported metrics and what each means. CAF-free.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "grove/actors/replica_types.hpp"

namespace grove::actors {

/// A histogram of durations with fixed upper bounds (seconds), updated without a lock.
class duration_histogram {
public:
  static constexpr std::size_t max_bounds = 16;

  /// `upper_bounds`: increasing, at most max_bounds; a last bucket (+Inf) takes the rest.
  explicit duration_histogram(std::initializer_list<double> upper_bounds);

  void observe(std::chrono::nanoseconds d) noexcept;

  /// The upper bounds, in seconds.
  std::vector<double> upper_bounds() const;
  /// Observations per bucket (not cumulative), the +Inf bucket last.
  std::vector<std::uint64_t> bucket_counts() const;
  /// The sum of every observation, in seconds.
  double sum_seconds() const noexcept;

private:
  std::array<std::chrono::nanoseconds, max_bounds> bounds_{};
  std::size_t size_ = 0;
  std::array<std::atomic<std::uint64_t>, max_bounds + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// A node's counters (only ever increase) and gauges (current values). Each group of counters
/// that one kind of work updates sits on a cache line of its own, so that two scheduler threads
/// doing different work do not contend.
struct node_metrics {
  using counter = std::atomic<std::uint64_t>;
  using gauge = std::atomic<std::int64_t>;

  enum class operation : std::uint8_t { write, read };
  static constexpr std::size_t operation_count = 2;
  static constexpr std::size_t level_count = 3;

  /// Client operations by kind and consistency level (a mutation is a local write, a state
  /// request a local read).
  alignas(64) std::array<std::array<counter, level_count>, operation_count> operations{};
  /// Writes and reads at majority or all that failed with unavailable: too few replicas
  /// acknowledged before their timeout.
  std::array<counter, operation_count> ack_timeouts{};

  // Replication: deltas and full states (transfers, in chunks) sent to and received from peers.
  alignas(64) counter deltas_sent{0};
  counter deltas_received{0};
  counter delta_bytes_sent{0};
  counter delta_bytes_received{0};
  alignas(64) counter state_bytes_sent{0};
  counter state_bytes_received{0};
  counter transfers_sent{0};  // full states started (their first chunk)
  counter transfers_received{0};
  // Anti-entropy: digest rounds that sent at least one digest, and the digests.
  alignas(64) counter antientropy_rounds{0};
  counter digests_sent{0};
  counter digests_received{0};
  /// Messages from actors that are no peer of the replica (or, for membership's notices, not its
  /// membership actor): ignored.
  counter replica_messages_refused{0};

  // The delta logs (durability log) of the hosted groups: entries after their snapshots.
  alignas(64) gauge delta_log_entries{0};
  gauge delta_log_bytes{0};
  /// From a replica's snapshot request to the storage actor's confirmation that it is committed.
  duration_histogram snapshot_duration{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  /// Each synced commit of a DETS-style store (page writes and fdatasync).
  duration_histogram fsync_duration{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1};
  // The storage actor: backend transactions, and the bytes it wrote.
  alignas(64) counter storage_commits{0};
  counter snapshot_bytes_written{0};
  counter log_bytes_written{0};

  // Membership.
  alignas(64) gauge nodes_connected{0};  // other nodes connected and trusted
  counter membership_refused{0};         // node messages refused: untrusted, another version, spoken for others
  counter nodes_unreachable{0};          // nodes failure detection took as gone (silent, connection open)
  gauge groups_hosted{0};                // replicas running on this node

  void count_operation(operation op, consistency_level level, std::uint64_t n = 1) noexcept {
    operations[static_cast<std::size_t>(op)][static_cast<std::size_t>(level)].fetch_add(n, std::memory_order_relaxed);
  }
  void count_ack_timeout(operation op) noexcept {
    ack_timeouts[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Adds `n` to a counter or gauge (relaxed: counts need no ordering).
template <class T>
void add(std::atomic<T>& metric, std::common_type_t<T> n = 1) noexcept {
  metric.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace grove::actors
