// gcounter: a grow-only counter (Grove.Counter.GCounter). Each replica counts its own increments;
// merge takes the per-replica maximum; the value is the sum.
//
// Range: a gcounter's value is 0..2^64-1 and a pncounter's -(2^63-1)..2^63-1. A replica refuses an
// increment or decrement that would take the value it sees out of the range (errc::too_large,
// nothing changes), so nothing wraps around. Concurrent changes on several replicas can still add
// up past the range after a merge; value() then saturates at the bound instead of wrapping.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/error.hpp"

namespace grove::crdt {

class gcounter {
public:
  explicit gcounter(replica_id owner = {}) : owner_(std::move(owner)) {}

  static std::string type_name() { return "grove.gcounter"; }
  const replica_id& owner() const { return owner_; }

  /// Adds `n` to this replica's count. Errors: too_large when the value would pass 2^64-1.
  status increment(std::uint64_t n = 1);
  /// The sum of all replicas' counts, saturated at 2^64-1.
  std::uint64_t value() const;
  /// The count contributed by `actor` (0 if unknown).
  std::uint64_t get(const replica_id& actor) const;
  const std::map<replica_id, std::uint64_t>& counts() const { return counts_; }

  void merge(const gcounter& other);
  /// The local increments since the last reset_delta(), as a gcounter.
  gcounter delta() const;
  bool has_delta() const { return !delta_.empty(); }
  void reset_delta() { delta_.clear(); }

  void write_state(byte_writer& w) const;
  bool read_state(byte_reader& r);

  /// Equal states, whatever the owners and pending deltas.
  friend bool operator==(const gcounter& a, const gcounter& b) { return a.counts_ == b.counts_; }
  friend bool operator!=(const gcounter& a, const gcounter& b) { return !(a == b); }

private:
  replica_id owner_;
  std::map<replica_id, std::uint64_t> counts_;  // never holds a zero count
  std::map<replica_id, std::uint64_t> delta_;
};

/// pncounter: increments and decrements (Grove.Counter.PNCounter), two gcounters.
class pncounter {
public:
  explicit pncounter(replica_id owner = {}) : positive_(owner), negative_(std::move(owner)) {}

  static std::string type_name() { return "grove.pncounter"; }
  const replica_id& owner() const { return positive_.owner(); }

  static constexpr std::int64_t max_value = INT64_MAX;
  static constexpr std::int64_t min_value = -INT64_MAX;

  /// Adds `n`. Errors: too_large when the value would pass max_value (or the total of all
  /// increments 2^64-1); nothing changes then.
  status increment(std::uint64_t n = 1);
  /// Subtracts `n`. Errors: too_large when the value would fall below min_value (or the total of
  /// all decrements pass 2^64-1).
  status decrement(std::uint64_t n = 1);
  /// positive total - negative total, saturated to [min_value, max_value].
  std::int64_t value() const;
  std::uint64_t positive_total() const { return positive_.value(); }
  std::uint64_t negative_total() const { return negative_.value(); }

  void merge(const pncounter& other) {
    positive_.merge(other.positive_);
    negative_.merge(other.negative_);
  }
  pncounter delta() const;
  bool has_delta() const { return positive_.has_delta() || negative_.has_delta(); }
  void reset_delta() {
    positive_.reset_delta();
    negative_.reset_delta();
  }

  void write_state(byte_writer& w) const {
    positive_.write_state(w);
    negative_.write_state(w);
  }
  bool read_state(byte_reader& r) { return positive_.read_state(r) && negative_.read_state(r); }

  friend bool operator==(const pncounter& a, const pncounter& b) {
    return a.positive_ == b.positive_ && a.negative_ == b.negative_;
  }
  friend bool operator!=(const pncounter& a, const pncounter& b) { return !(a == b); }

private:
  gcounter positive_;
  gcounter negative_;
};

}  // namespace grove::crdt
