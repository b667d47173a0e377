// The delta stream of a replica: its own deltas, numbered 1, 2, ... within its incarnation and
// kept for a while for peers that lack them, and how far it merged each origin's deltas without a
// gap. Part of the replica's protocol core (replica_core.hpp). CAF-free.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "grove/actors/protocol.hpp"

namespace grove::actors::replica {

class delta_stream {
public:
  explicit delta_stream(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // -- own deltas -----------------------------------------------------------------------------

  /// The number of this replica's last delta (0 before the first).
  std::uint64_t seq() const { return seq_; }

  /// Numbers the next delta and keeps it for resending (the oldest go when the buffer is full).
  std::uint64_t append(const bytes& delta);

  /// Numbers the next delta without keeping it: it was too big for one message and went out as a
  /// full state, so nothing before it can be resent alone.
  std::uint64_t append_unkept();

  /// This replica's deltas from number `first` on, if all of them are still kept.
  std::optional<std::vector<std::pair<std::uint64_t, const bytes*>>> since(std::uint64_t first) const;

  // -- peers' deltas --------------------------------------------------------------------------

  enum class arrival : std::uint8_t { duplicate, next, gap };

  /// Records delta `seq` of `origin`: the next one advances what is merged of it; a gap means
  /// lost deltas (the ones after the gap are merged but not counted, so the count stays free of
  /// gaps); a number at or below the count is a duplicate.
  arrival track(const std::string& origin, std::uint64_t seq);

  /// How far `origin`'s deltas are merged without a gap (0 if none).
  std::uint64_t merged(const std::string& origin) const;

  /// A full state covered `origin`'s deltas through `seq`.
  void merged_at_least(const std::string& origin, std::uint64_t seq);

  /// `origin` is no member any more: its count and open request go.
  void forget(const std::string& origin);

  /// Origins with a count.
  std::size_t origins() const { return merged_.size(); }

  /// Whether `origin` may be asked for deltas or state now: once per origin per digest round (and
  /// again after its next delta arrived in order).
  bool may_ask(const std::string& origin) { return awaiting_.insert(origin).second; }
  void answered(const std::string& origin) { awaiting_.erase(origin); }
  /// A digest round passed: unanswered requests may be asked again.
  void new_round() { awaiting_.clear(); }

private:
  std::size_t max_message_bytes_;
  std::uint64_t seq_ = 0;
  std::deque<std::pair<std::uint64_t, bytes>> recent_;
  std::size_t recent_bytes_ = 0;
  std::map<std::string, std::uint64_t> merged_;
  std::set<std::string> awaiting_;
};

}  // namespace grove::actors::replica
