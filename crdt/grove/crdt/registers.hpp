// Registers.
//
// lww_register<V> (Grove.Register.LWWRegister): the write with the greatest stamp wins. A stamp is
// (time, writer replica id): `time` is a Lamport counter (default) or a hybrid-logical-clock stamp
// packed into 64 bits (48 bits of ms, 16 of counter); never wall-clock time alone. Equal times are
// broken by replica id, and (only for explicit duplicate stamps) by value, so merge commutes.
// `clear()` is an observed reset: it hides every write with a stamp up to the current one (the
// register keeps only that stamp); a later write shows again. Retired incarnations
// (retired.hpp): nothing accumulates in a register; retire(r) only records r as retired, so that
// origins() stops naming it even while its write is the current one.
//
// mv_register<V> (Grove.Register.MVRegister): keeps every concurrent write; a write replaces the
// values it has observed. Built on dot_kernel.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "grove/crdt/clocks.hpp"
#include "grove/crdt/dot_kernel.hpp"

namespace grove::crdt {

template <class V>
class lww_register {
public:
  /// Lamport stamps.
  explicit lww_register(replica_id owner = {}) : owner_(std::move(owner)) {}
  /// Hybrid-logical-clock stamps from `clock` (whose source tests may control).
  lww_register(replica_id owner, hybrid_logical_clock clock) : owner_(std::move(owner)), clock_(std::move(clock)) {}

  static std::string type_name() { return "grove.lww_register<" + value_codec<V>::name() + ">"; }
  const replica_id& owner() const { return owner_; }

  /// Writes `x` with a stamp greater than any this replica has seen.
  void set(V x) {
    std::uint64_t time = time_ + 1;
    if (clock_) time = std::max(time, clock_->tick().packed());
    set(std::move(x), time);
  }
  /// Writes `x` with an explicit time (e.g. from an external clock). It wins only if
  /// (time, owner) is greater than the current stamp; returns whether it did.
  bool set(V x, std::uint64_t time) {
    if (!wins(time, owner_, x)) return false;
    value_ = std::move(x);
    cleared_ = false;
    time_ = time;
    writer_ = owner_;
    dirty_ = true;
    return true;
  }
  /// Observed reset (ormap's erase): the value goes, the stamp stays, so this write and every
  /// older one stay hidden after any merge; a write with a later stamp shows again.
  void clear() {
    if (!value_) return;
    value_.reset();
    cleared_ = true;
    dirty_ = true;
  }
  /// Writes `other`'s value with a fresh stamp of this replica (ormap::put), so it wins here
  /// whatever stamp it had. An empty `other` changes nothing. Never fails.
  status absorb(const lww_register& other) {
    if (other.value_) set(*other.value_);
    return {};
  }

  /// See retired.hpp. can_retire's error: invalid_argument when `r` is the owner.
  std::vector<replica_id> origins() const {
    if ((!value_ && !cleared_) || retired_.contains(writer_)) return {};
    return {writer_};
  }
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const {
    bool wrote_current = (value_ || cleared_) && writer_ == r;
    if (!wrote_current && !retired_.contains(r)) return false;
    w.u8(wrote_current ? 1 : 0);
    if (wrote_current) write_stamped_value(w);
    retired_.write_projection(w, r);
    return true;
  }
  status can_retire(const replica_id& r) const { return check_not_owner(owner_, r); }
  status retire(const replica_id& r, std::uint64_t expires_at_ms) {
    if (auto ok = can_retire(r); !ok) return ok;
    retired_.add(r, retired_marker{0, {}, expires_at_ms});
    dirty_ = true;
    return {};
  }
  void expire_retired(std::uint64_t now_ms) { retired_.expire(now_ms); }

  /// The current value (empty before the first write and after clear()).
  const std::optional<V>& value() const { return value_; }
  /// The time part of the current stamp (0 before the first write).
  std::uint64_t timestamp() const { return time_; }
  /// The replica that wrote the current value.
  const replica_id& writer() const { return writer_; }

  void merge(const lww_register& other) {
    if (!other.retired_.empty()) retired_.join(other.retired_);
    bool replaces =
      other.value_ ? wins(other.time_, other.writer_, *other.value_) : other.cleared_ && clear_wins(other);
    if (!replaces) return;
    value_ = other.value_;
    cleared_ = other.cleared_;
    time_ = other.time_;
    writer_ = other.writer_;
  }
  /// The whole register if this replica wrote or retired since the last reset_delta(), else an
  /// empty one.
  lww_register delta() const {
    lww_register d(owner_);
    if (dirty_) d.merge(*this);
    return d;
  }
  bool has_delta() const { return dirty_; }
  void reset_delta() { dirty_ = false; }

  /// Presence flag (0 never written, 1 a value, 2 cleared), the stamp and the value, then the
  /// retired markers. Format 1 had neither the cleared state nor the markers.
  void write_state(byte_writer& w) const {
    write_stamped_value(w);
    retired_.write(w);
  }
  bool read_state(byte_reader& r) {
    std::uint8_t present = 0;
    if (!r.u8(present)) return false;
    value_.reset();
    cleared_ = false;
    time_ = 0;
    writer_.clear();
    retired_.clear();
    if (present > (r.version() < 2 ? 1 : 2)) return r.fail("bad presence flag");
    if (present != 0 && (!r.varint(time_) || !r.str(writer_))) return false;
    cleared_ = present == 2;
    if (present == 1) {
      V x{};
      if (!value_codec<V>::read(r, x)) return false;
      value_ = std::move(x);
    }
    return r.version() < 2 || retired_.read(r);
  }

  friend bool operator==(const lww_register& a, const lww_register& b) {
    return a.value_ == b.value_ && a.cleared_ == b.cleared_ && a.time_ == b.time_ && a.writer_ == b.writer_
           && a.retired_ == b.retired_;
  }
  friend bool operator!=(const lww_register& a, const lww_register& b) { return !(a == b); }

private:
  void write_stamped_value(byte_writer& w) const {
    w.u8(value_ ? 1 : cleared_ ? 2 : 0);
    if (!value_ && !cleared_) return;
    w.varint(time_);
    w.str(writer_);
    if (value_) value_codec<V>::write(w, *value_);
  }

  // Whether a write stamped (time, writer) replaces the current state. A cleared state hides
  // every write up to its stamp.
  bool wins(std::uint64_t time, const replica_id& writer, const V& x) const {
    if (!value_ && !cleared_) return true;
    if (cleared_) return std::tie(time, writer) > std::tie(time_, writer_);
    return std::tie(time, writer) > std::tie(time_, writer_) || (time == time_ && writer == writer_ && *value_ < x);
  }
  // Whether `other`'s clear replaces the current state: it hides what carries its stamp or an
  // older one.
  bool clear_wins(const lww_register& other) const {
    if (!value_ && !cleared_) return true;
    auto theirs = std::tie(other.time_, other.writer_), mine = std::tie(time_, writer_);
    return theirs > mine || (theirs == mine && value_);
  }

  replica_id owner_;
  std::optional<hybrid_logical_clock> clock_;
  std::optional<V> value_;
  bool cleared_ = false;  // value_ was cleared; time_ and writer_ are the stamp of the clear
  retired_origins retired_;
  std::uint64_t time_ = 0;
  replica_id writer_;
  bool dirty_ = false;
};

template <class V>
class mv_register : public kernel_crdt<V> {
  using kernel_crdt<V>::owner_;
  using kernel_crdt<V>::state_;
  using kernel_crdt<V>::delta_;

public:
  explicit mv_register(const replica_id& owner = {}) : kernel_crdt<V>(owner) {}

  static std::string type_name() { return "grove.mv_register<" + value_codec<V>::name() + ">"; }

  /// Writes `x`, replacing every value observed here.
  void set(const V& x) {
    state_.clear(delta_);
    state_.add(x, owner_, delta_);
  }
  /// Observed reset (ormap's erase): removes every value observed here; a write made
  /// concurrently elsewhere survives.
  void clear() { state_.clear(delta_); }
  /// Writes `other`'s values, with fresh dots of this replica, replacing the values observed here
  /// (ormap::put; `other`'s own dots are never imported, so they cannot collide with this
  /// register's). An empty `other` changes nothing. `other` may be *this. Never fails.
  status absorb(const mv_register& other) {
    auto values = other.value();
    if (values.empty()) return {};
    state_.clear(delta_);
    for (const auto& x : values) state_.add(x, owner_, delta_);
    return {};
  }
  /// Every concurrent value, sorted (empty before the first write).
  std::vector<V> value() const {
    std::vector<V> out;
    for (const auto& entry : state_.entries()) out.push_back(entry.first);
    return out;
  }
  /// Whether concurrent writes are waiting to be resolved.
  bool has_conflict() const { return state_.size() > 1; }
  /// Picks one of the concurrent values with `choose(const std::vector<V>&) -> V` and writes it,
  /// which resolves the conflict everywhere once it replicates. Returns the chosen value, or
  /// nothing if the register is empty.
  template <class Choose>
  std::optional<V> resolve(Choose choose) {
    auto values = value();
    if (values.empty()) return std::nullopt;
    V chosen = choose(values);
    set(chosen);
    return chosen;
  }

  void merge(const mv_register& other) { state_.join(other.state_); }
  mv_register delta() const {
    mv_register d(owner_.str());
    d.state_ = delta_;
    return d;
  }

  friend bool operator==(const mv_register& a, const mv_register& b) { return a.state_ == b.state_; }
  friend bool operator!=(const mv_register& a, const mv_register& b) { return !(a == b); }
};

}  // namespace grove::crdt
