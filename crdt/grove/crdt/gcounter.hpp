// gcounter: a grow-only counter (Grove.Counter.GCounter). Each replica counts its own increments;
// merge takes the per-replica maximum; the value is the sum.
//
// Range: a gcounter's value is 0..2^64-1 and a pncounter's -(2^63-1)..2^63-1. A replica refuses an
// increment or decrement that would take the value it sees out of the range (errc::too_large,
// nothing changes), so nothing wraps around. Concurrent changes on several replicas can still add
// up past the range after a merge; value() then saturates at the bound instead of wrapping.
//
// Observed reset (`clear()`, what ormap's erase does to a counter value): each replica's count
// keeps a second number, the part of it a reset took away (the count seen at the reset; merged
// by maximum like the count). The value is the sum of count minus that part, so a reset makes it
// 0, increments made elsewhere concurrently with the reset still count, and a stale copy of the
// counter merged later brings nothing back.
//
// Retired incarnations (retired.hpp): retire(r) adds r's count (less what resets took) to the
// owner's own and drops r's slot; merge ignores slots of retired replicas.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/error.hpp"
#include "grove/crdt/retired.hpp"

namespace grove::crdt {

class gcounter {
public:
  explicit gcounter(replica_id owner = {}) : owner_(std::move(owner)) {}

  static std::string type_name() { return "grove.gcounter"; }
  const replica_id& owner() const { return owner_; }

  /// Adds `n` to this replica's count. Errors: too_large when the value would pass 2^64-1; closed
  /// when this replica's own id was retired (retired.hpp: a replica that restarts takes a fresh
  /// id, so this means a stale copy of an old incarnation is running).
  status increment(std::uint64_t n = 1);
  /// The sum of all replicas' counts (less what resets took away), saturated at 2^64-1.
  std::uint64_t value() const;
  /// The count contributed by `actor` (0 if unknown), less what resets took away.
  std::uint64_t get(const replica_id& actor) const;
  /// Each replica's count as it grew (resets not subtracted).
  const std::map<replica_id, std::uint64_t>& counts() const { return counts_; }
  /// Observed reset: the value becomes 0 here; increments this replica has not seen still count
  /// when they arrive.
  void clear();
  /// Adds `other`'s value to this replica's count (ormap::put): a counter built elsewhere, even
  /// under this replica's id, is added, never swallowed by a per-replica maximum. `other` may be
  /// *this. Errors: too_large, as increment; nothing changes then.
  status absorb(const gcounter& other) { return increment(other.value()); }

  /// See retired.hpp. can_retire's errors: invalid_argument when `r` is the owner; too_large when
  /// the owner's count cannot take r's; closed when the owner's own id was retired.
  std::vector<replica_id> origins() const;
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const;
  status can_retire(const replica_id& r) const;
  status retire(const replica_id& r, std::uint64_t expires_at_ms);
  void expire_retired(std::uint64_t now_ms) { retired_.expire(now_ms); }

  void merge(const gcounter& other);
  /// The local increments, resets and retires since the last reset_delta(), as a gcounter.
  gcounter delta() const;
  bool has_delta() const { return !delta_counts_.empty() || !delta_retired_.empty(); }
  void reset_delta() {
    delta_counts_.clear();
    delta_cleared_.clear();
    delta_retired_.clear();
  }

  void write_state(byte_writer& w) const;
  bool read_state(byte_reader& r);

  /// Equal states, whatever the owners and pending deltas.
  friend bool operator==(const gcounter& a, const gcounter& b) {
    return a.counts_ == b.counts_ && a.cleared_ == b.cleared_ && a.retired_ == b.retired_;
  }
  friend bool operator!=(const gcounter& a, const gcounter& b) { return !(a == b); }

private:
  friend class pncounter;
  using count_map = std::map<replica_id, std::uint64_t>;  // never holds a zero

  /// Whether `n` can be added to this replica's count (the errors of increment).
  status check_increment(std::uint64_t n) const;
  /// The same, given the owner's count (its slot in counts_, or 0).
  status check_increment(std::uint64_t n, std::uint64_t own_count) const;
  /// errc::closed when the owner's own id was retired: its slot is ignored from then on.
  status check_not_retired() const;
  static void merge_max(count_map& into, const count_map& from);
  void drop_retired_slots();

  replica_id owner_;
  count_map counts_;
  count_map cleared_;  // per replica, the part of its count resets took away; <= its count
  retired_origins retired_;
  count_map delta_counts_;
  count_map delta_cleared_;
  retired_origins delta_retired_;
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
  /// Observed reset of both totals (see gcounter::clear): the value becomes 0 here.
  void clear() {
    positive_.clear();
    negative_.clear();
  }
  /// Adds `other`'s increments and decrements as this replica's own (ormap::put). `other` may be
  /// *this. Errors: too_large, as increment and decrement; nothing changes then.
  status absorb(const pncounter& other);
  /// positive total - negative total, saturated to [min_value, max_value].
  std::int64_t value() const;
  std::uint64_t positive_total() const { return positive_.value(); }
  std::uint64_t negative_total() const { return negative_.value(); }

  /// See retired.hpp: both totals retire `r`, all or nothing.
  std::vector<replica_id> origins() const;
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const;
  status can_retire(const replica_id& r) const;
  status retire(const replica_id& r, std::uint64_t expires_at_ms);
  void expire_retired(std::uint64_t now_ms) {
    positive_.expire_retired(now_ms);
    negative_.expire_retired(now_ms);
  }

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
