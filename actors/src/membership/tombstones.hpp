// Dropped groups: a tombstone keeps a group dropped for its lifetime, at most `max` of them (the one
// that expires first goes early). Tombstones expire at a time of the wall clock, so that they keep
// their lifetime across restarts: membership keeps them in the store (membership_core.hpp). Part of
// membership's protocol core. CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "grove/actors/protocol.hpp"
#include "grove/crdt/error.hpp"

namespace grove::actors::membership {

class tombstones {
public:
  using timestamp = std::chrono::milliseconds;

  tombstones(timestamp lifetime, std::size_t max) : lifetime_(lifetime), max_(std::max<std::size_t>(1, max)) {}

  /// Whether `group` is dropped at `now`.
  bool dropped(const std::string& group, timestamp now);
  /// Records a tombstone living `remaining` more (at most the lifetime); false if the group had
  /// one already (or `remaining` is not positive).
  bool add(const std::string& group, timestamp remaining, timestamp now);
  /// The tombstones of `groups` that live at `now`, as they travel.
  std::vector<tombstone> of(const std::vector<std::string>& groups, timestamp now) const;
  std::vector<tombstone> all(timestamp now);

  timestamp lifetime() const { return lifetime_; }

  /// Every tombstone as the store keeps it (a gset<std::string> of "expiry group" entries, so
  /// grove-inspect shows them), and the tombstones it held (the expired ones are left out).
  bytes encode() const;
  status restore(bytes_view stored, timestamp now);

private:
  void purge(timestamp now);

  timestamp lifetime_;
  std::size_t max_;
  std::map<std::string, timestamp> expiry_;          // group -> when its tombstone expires
  std::multimap<timestamp, std::string> by_expiry_;  // the same, by time (to purge)
};

}  // namespace grove::actors::membership
