// Durability of a replica: the log appends that acknowledge mutations (durability log), and the
// snapshots that save the state and drop the log they cover. Part of the replica's protocol core.
// CAF-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "effects.hpp"

namespace grove::actors::replica {

/// A mutation's requester, answered once its delta is logged: with done, or (a write with a
/// level) once that level's replicas merged it.
struct pending_ack {
  request_id id = 0;
  std::optional<consistency> level;
};

class durability {
public:
  durability(durability_mode mode, bool has_storage, std::size_t max_log_bytes)
      : mode_(mode), has_storage_(has_storage), max_log_bytes_(max_log_bytes) {}

  bool logs() const { return mode_ == durability_mode::log; }
  bool has_storage() const { return has_storage_; }

  // -- the log ----------------------------------------------------------------------------------

  /// A mutation was applied: `ack` waits for the next append. The append runs after the messages
  /// already waiting (a zero-delay timer), so mutations in the mailbox join it.
  void queue(pending_ack ack, effects& out);
  bool flush_scheduled() const { return flush_scheduled_; }

  /// The requesters the next append acknowledges (the flush takes them).
  std::vector<pending_ack> take_unlogged();

  /// An append of `delta` for `acks` as the next log entry: its number and the write that
  /// appends it.
  std::pair<std::uint64_t, std::vector<storage::write_op>> begin_append(const storage::group_key& group, bytes delta,
                                                                        std::vector<pending_ack> acks);
  /// The running append that acknowledgements of mutations without a delta join (nothing to log
  /// for them, but they must not overtake earlier ones); false when none runs.
  bool join_running_append(std::vector<pending_ack>& acks);

  struct finished_append {
    bytes delta;
    std::vector<pending_ack> acks;
  };
  /// Log entry `seq`'s append finished; nothing if it is not running.
  std::optional<finished_append> end_append(std::uint64_t seq);
  /// Whether an append runs (its delta has not gone to the peers yet).
  bool append_running() const { return !appends_.empty(); }

  /// Whether the log passed max(max_log_bytes, the last snapshot's size) and no snapshot runs.
  bool compaction_due() const;

  // -- snapshots --------------------------------------------------------------------------------

  /// Something changed that the next snapshot must save.
  void changed() { changed_since_snapshot_ = true; }
  bool changed_since_snapshot() const { return changed_since_snapshot_; }
  bool snapshot_running() const { return snapshot_running_; }

  /// A snapshot of `state` starts: the write that saves it and drops the log entries it covers
  /// (every entry appended so far: their deltas were taken from the state). Appends sent before
  /// it are committed before it or with it by the storage actor.
  std::vector<storage::write_op> begin_snapshot(const storage::group_key& group, bytes state);
  /// The snapshot's write finished (ok or not: then it is tried again, with what it covered).
  void end_snapshot(const status& outcome);
  /// The ops of a snapshot without starting one (the final snapshot at stop).
  std::vector<storage::write_op> snapshot_ops(const storage::group_key& group, bytes state) const;

  // -- start ----------------------------------------------------------------------------------

  /// What the store held at start: its size and the log entries merged after it.
  void restored(std::size_t snapshot_bytes, const std::vector<storage::log_entry>& log);

private:
  durability_mode mode_;
  bool has_storage_;
  std::size_t max_log_bytes_;
  std::vector<pending_ack> unlogged_;
  bool flush_scheduled_ = false;
  std::map<std::uint64_t, finished_append> appends_;  // running, by log entry number
  std::uint64_t log_seq_ = 0;                         // number of the last log entry
  std::size_t log_bytes_ = 0;                         // appended since the last snapshot started
  std::size_t snapshot_bytes_ = 0;                    // size of the last snapshot
  std::size_t covered_log_bytes_ = 0;                 // log bytes the running snapshot drops
  bool snapshot_running_ = false;
  bool changed_since_snapshot_ = false;
};

}  // namespace grove::actors::replica
