// Logical clocks (Grove.VectorClock, Grove.DottedVersionVector, Grove.HybridLogicalClock).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"

namespace grove::crdt {

/// How two causal histories relate.
enum class clock_order { before, after, equal, concurrent };
const char* to_string(clock_order order) noexcept;

/// vector_clock: replica -> number of events seen. Absent replicas count 0 (never stored).
class vector_clock {
public:
  explicit vector_clock(replica_id owner = {}) : owner_(std::move(owner)) {}

  static std::string type_name() { return "grove.vector_clock"; }
  const replica_id& owner() const { return owner_; }

  /// Counts one event of `actor`; returns its new count.
  std::uint64_t increment(const replica_id& actor);
  /// Counts one event of the owner.
  std::uint64_t increment() { return increment(owner_); }
  std::uint64_t get(const replica_id& actor) const;
  const std::map<replica_id, std::uint64_t>& entries() const { return entries_; }

  /// before: this < other; after: this > other; equal; or concurrent.
  clock_order compare(const vector_clock& other) const;
  /// This has seen everything `other` has (after or equal).
  bool descends(const vector_clock& other) const;
  /// This has seen strictly more than `other` (after).
  bool dominates(const vector_clock& other) const;
  /// Pointwise maximum.
  void merge(const vector_clock& other);

  void write_state(byte_writer& w) const;
  bool read_state(byte_reader& r);

  friend bool operator==(const vector_clock& a, const vector_clock& b) { return a.entries_ == b.entries_; }
  friend bool operator!=(const vector_clock& a, const vector_clock& b) { return !(a == b); }

private:
  replica_id owner_;
  std::map<replica_id, std::uint64_t> entries_;
};

/// dotted_version_vector: a causal context plus the dot of the latest event (Grove's DVV).
class dotted_version_vector {
public:
  explicit dotted_version_vector(replica_id owner = {}) : owner_(std::move(owner)) {}

  static std::string type_name() { return "grove.dotted_version_vector"; }
  const replica_id& owner() const { return owner_; }

  /// Records a new event of `actor` and returns its dot; the first dot of an actor is {actor, 1}.
  /// The previous current dot stays in the context.
  dot event(const replica_id& actor);
  dot event() { return event(owner_); }
  /// Joins the other's history into this one's context (the current dot is kept).
  void sync(const dotted_version_vector& other);
  /// Adds `d` to the context without making it the current dot.
  void add_to_context(const dot& d) { context_.insert(d); }
  /// Whether `d` is the current dot or in the context.
  bool contains(const dot& d) const { return context_.contains(d); }
  /// This has seen every event the other has seen.
  bool descends(const dotted_version_vector& other) const;
  /// This has seen strictly more than the other.
  bool dominates(const dotted_version_vector& other) const;
  clock_order compare(const dotted_version_vector& other) const;
  const std::optional<dot>& current() const { return current_; }
  const causal_context& context() const { return context_; }

  /// Joins contexts; the current dot becomes the greater of the two (by counter, then actor).
  void merge(const dotted_version_vector& other);

  void write_state(byte_writer& w) const;
  bool read_state(byte_reader& r);

  friend bool operator==(const dotted_version_vector& a, const dotted_version_vector& b) {
    return a.current_ == b.current_ && a.context_ == b.context_;
  }
  friend bool operator!=(const dotted_version_vector& a, const dotted_version_vector& b) { return !(a == b); }

private:
  bool covers(const causal_context& other) const;

  replica_id owner_;
  std::optional<dot> current_;
  causal_context context_;  // includes the current dot
};

/// A hybrid logical clock stamp: wall time in ms, a logical counter, the node as tiebreak.
struct hlc_timestamp {
  std::uint64_t wall_ms = 0;
  std::uint32_t logical = 0;
  replica_id node;

  /// Packs (wall_ms, logical) into one ordered integer: 48 bits of ms, 16 of counter.
  std::uint64_t packed() const { return (wall_ms << 16) | (logical & 0xffff); }

  friend bool operator==(const hlc_timestamp& a, const hlc_timestamp& b) {
    return a.wall_ms == b.wall_ms && a.logical == b.logical && a.node == b.node;
  }
  friend bool operator<(const hlc_timestamp& a, const hlc_timestamp& b);
};

/// hybrid_logical_clock (Kulkarni et al.): monotonic stamps that stay close to wall-clock time.
/// The clock source is injectable so tests control time.
class hybrid_logical_clock {
public:
  using clock_source = std::function<std::uint64_t()>;  // milliseconds since the epoch

  /// The system clock (std::chrono::system_clock) in ms.
  static std::uint64_t system_ms();

  explicit hybrid_logical_clock(replica_id node = {}, clock_source source = system_ms) : source_(std::move(source)) {
    last_.node = std::move(node);
  }

  static std::string type_name() { return "grove.hybrid_logical_clock"; }
  const replica_id& owner() const { return last_.node; }

  /// A stamp for a local event, greater than every stamp issued or seen before.
  hlc_timestamp tick();
  /// Advances past a stamp received from another node and returns the new local stamp.
  hlc_timestamp update(const hlc_timestamp& remote);
  const hlc_timestamp& now() const { return last_; }
  static clock_order compare(const hlc_timestamp& a, const hlc_timestamp& b);

  /// Keeps the later of the two last stamps (by wall time and counter).
  void merge(const hybrid_logical_clock& other);

  void write_state(byte_writer& w) const;
  bool read_state(byte_reader& r);

  friend bool operator==(const hybrid_logical_clock& a, const hybrid_logical_clock& b) {
    return a.last_.wall_ms == b.last_.wall_ms && a.last_.logical == b.last_.logical;
  }
  friend bool operator!=(const hybrid_logical_clock& a, const hybrid_logical_clock& b) { return !(a == b); }

private:
  clock_source source_;
  hlc_timestamp last_;
};

}  // namespace grove::crdt
