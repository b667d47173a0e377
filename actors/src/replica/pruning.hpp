// Pruning of retired incarnations. Every start of a replica takes a fresh incarnation, so the
// group's metadata (counter slots, causal-context entries) names one more owner per start that
// wrote. The live incarnation retires the ones of its own replica id that went before it (only
// it may: a fold done twice would count twice): it asks every peer what it holds of one
// (retire_query), and once every replica the group is known to have answered a digest equal to its
// own, no replica holds anything of it that this one lacks, and it retires it (crdt retire: a
// counter's share is folded into its own, a causal-context entry becomes a marker that expires
// after marker_lifetime). A state whose dots of the old incarnation still keep elements alive is
// left as it is (see docs/protocol.md, "Pruning"). Part of the replica's protocol core. CAF-free.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "effects.hpp"

namespace grove::actors::replica {

class pruning {
public:
  pruning(std::string own_replica_id, timestamp interval) : own_(std::move(own_replica_id)), interval_(interval) {}

  /// The incarnations of this replica id that went before `self`, among `origins` (the ones the
  /// state names), except any that a live peer has (a copy of this replica started twice).
  std::vector<std::string> predecessors(const std::vector<std::string>& origins, const std::string& self,
                                        const std::set<std::string>& live) const;

  /// Arms the check unless it is armed.
  void arm(effects& out);
  void fired() { armed_ = false; }

  /// A round of questions starts: earlier answers no longer count.
  void asking() { answers_.clear(); }
  void answered(const std::string& origin, const std::string& replica_id, std::uint64_t digest) {
    answers_[origin][replica_id] = digest;
  }
  /// Whether every replica id in `replicas` but this one answered `digest` for `origin`.
  bool agreed(const std::string& origin, std::uint64_t digest, const std::set<std::string>& replicas) const;

  /// An incarnation that cannot be retired yet (its dots keep elements alive): not asked about
  /// again until the state changes.
  void blocked(const std::string& origin) { blocked_.insert(origin); }
  bool is_blocked(const std::string& origin) const { return blocked_.count(origin) > 0; }
  void state_changed() { blocked_.clear(); }

private:
  std::string own_;
  timestamp interval_;
  bool armed_ = false;
  std::map<std::string, std::map<std::string, std::uint64_t>> answers_;  // origin -> replica id -> digest
  std::set<std::string> blocked_;
};

}  // namespace grove::actors::replica
