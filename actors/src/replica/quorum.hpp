// Consistency levels: which replicas a group has, how many a level needs, and the writes and reads
// that wait for them. Part of the replica's protocol core. CAF-free.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "effects.hpp"

namespace grove::actors::replica {

/// A peer replica as the core knows it.
struct peer_state {
  bool remote = false;      // on another node: digests to it go through membership
  std::string origin;       // its incarnation, pinned by its first message (empty until then)
  std::uint64_t acked = 0;  // how far it acknowledged this replica's deltas
  bool in_sync = false;     // its last digest showed it holds what this replica holds
};
using peer_table = std::map<peer_id, peer_state>;

/// The replica id part of an incarnation ("replica_id@...").
std::string replica_id_of(const std::string& origin);

std::uint32_t replicas_needed(consistency_level level, std::uint32_t group_size);
const char* level_name(consistency_level level);

class quorum {
public:
  explicit quorum(std::string own_replica_id) : own_(std::move(own_replica_id)) {}

  /// A replica id of the group: it counts from now on, also while its node is down. True when it
  /// is new.
  bool saw_replica(const std::string& replica_id);

  /// This replica and every other replica id the group is known to have.
  std::uint32_t group_size() const { return static_cast<std::uint32_t>(1 + seen_.size()); }
  /// The replica ids of the group, this one included.
  std::set<std::string> replicas() const {
    auto out = seen_;
    out.insert(own_);
    return out;
  }

  /// This replica and the peers (by replica id) that acknowledged its deltas through `seq`.
  std::uint32_t holding(std::uint64_t seq, const peer_table& peers) const;

  // -- writes ---------------------------------------------------------------------------------

  /// A write applied (and logged) here whose level needs more replicas than hold its deltas
  /// through `seq`: answered now (a count) or later (a reply, or an error at its deadline).
  std::optional<replica_count> await_write(request_id id, std::uint64_t seq, const consistency& level,
                                           const peer_table& peers, effects& out);
  /// After an acknowledgement: answers the writes that now have their replicas.
  void writes_held(const peer_table& peers, effects& out);
  void write_deadline(request_id id, const peer_table& peers, effects& out);

  // -- reads ----------------------------------------------------------------------------------

  void await_read(request_id id, const consistency& level, timestamp timeout, effects& out);
  /// Peer `replica_id` gave its state for read `id`; `state` is the merged state then.
  void read_answered(request_id id, const std::string& replica_id,
                     const std::function<std::shared_ptr<const bytes>()>& state, effects& out);
  void read_deadline(request_id id, effects& out);

  /// Every waiting write and read fails with `e` (the group was dropped).
  void fail_all(const error& e, effects& out);

private:
  struct pending_write {
    std::uint64_t seq = 0;
    consistency level;
  };
  struct pending_read {
    consistency level;
    std::set<std::string> answered;
  };

  bool held(const pending_write& w, const peer_table& peers, replica_count& count) const;

  std::string own_;
  std::set<std::string> seen_;
  std::map<request_id, pending_write> writes_;
  std::map<request_id, pending_read> reads_;
};

/// "write majority: 1 of 3 replicas merged it within 500 ms, 2 needed; ..."
error too_few_replicas(const std::string& what, const consistency& level, std::uint32_t acks, std::uint32_t n,
                       const std::string& took_part, const std::string& consequence = {});

}  // namespace grove::actors::replica
