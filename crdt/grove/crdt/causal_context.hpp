// The causal core shared by every dot-based CRDT (orset, dvv_set, mv_register, ormap keys), in
// the style of Baquero's delta-enabled CRDTs: a `dot` names one event of one replica, a
// `causal_context` records every dot a state has seen, and a `dot_kernel<K>` maps keys to the dots
// that keep them alive. A key whose dots are all gone is absent: removal leaves no per-key
// tombstone, only the dots in the context.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "grove/crdt/binary.hpp"

namespace grove::crdt {

/// Identifies a replica (an actor in Grove's terms). Must be unique within a replication group.
using replica_id = std::string;

/// A replica id interned in a process-wide table, as dots carry it: copying is a pointer copy,
/// equality a pointer comparison, and ordering is the order of the names (so encodings that sort
/// by actor are the same in every process). Interned names live until the process exits; a
/// process meets a bounded number of replica ids.
class replica_ref {
public:
  replica_ref();
  replica_ref(std::string_view name) : name_(intern(name)) {}
  replica_ref(const std::string& name) : name_(intern(name)) {}
  replica_ref(const char* name) : name_(intern(name)) {}

  const std::string& str() const { return *name_; }
  operator const std::string&() const { return *name_; }

  friend bool operator==(replica_ref a, replica_ref b) { return a.name_ == b.name_; }
  friend bool operator!=(replica_ref a, replica_ref b) { return a.name_ != b.name_; }
  friend bool operator<(replica_ref a, replica_ref b) { return a.name_ != b.name_ && *a.name_ < *b.name_; }
  friend bool operator==(replica_ref a, const std::string& b) { return *a.name_ == b; }
  friend bool operator==(replica_ref a, const char* b) { return *a.name_ == b; }

private:
  static const std::string* intern(std::string_view name);
  const std::string* name_;
};

/// One event: the `counter`-th event of replica `actor` (counters start at 1).
struct dot {
  replica_ref actor;
  std::uint64_t counter = 0;

  friend bool operator==(const dot& a, const dot& b) { return a.counter == b.counter && a.actor == b.actor; }
  friend bool operator!=(const dot& a, const dot& b) { return !(a == b); }
  friend bool operator<(const dot& a, const dot& b) {
    return std::tie(a.actor, a.counter) < std::tie(b.actor, b.counter);
  }
};

/// Maps replica ids to small indexes while encoding, and back while decoding, so each dot costs
/// two varints instead of a string.
class actor_table {
public:
  actor_table() = default;
  explicit actor_table(std::vector<replica_ref> sorted) : actors_(std::move(sorted)) {}

  void write(byte_writer& w) const {
    w.varint(actors_.size());
    for (const auto& a : actors_) w.str(a.str());
  }

  bool read(byte_reader& r) {
    std::uint64_t n = 0;
    if (!r.count(n)) return false;
    actors_.clear();
    actors_.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string name;
      if (!r.str(name)) return false;
      if (!actors_.empty() && !(actors_.back().str() < name)) return r.fail("actor table is not sorted");
      actors_.emplace_back(name);
    }
    return true;
  }

  /// Index of `actor`; the actor must be in the table. Caches the last hit: dots of one actor
  /// usually come in runs.
  std::uint64_t index_of(replica_ref actor) const {
    if (last_ < actors_.size() && actors_[last_] == actor) return last_;
    auto it = std::lower_bound(actors_.begin(), actors_.end(), actor);
    last_ = static_cast<std::size_t>(it - actors_.begin());
    return last_;
  }

  void write_dot(byte_writer& w, const dot& d) const {
    w.varint(index_of(d.actor));
    w.varint(d.counter);
  }

  bool read_actor(byte_reader& r, replica_ref& actor) const {
    std::uint64_t i = 0;
    if (!r.varint(i)) return false;
    if (i >= actors_.size()) return r.fail("actor index out of range");
    actor = actors_[static_cast<std::size_t>(i)];
    return true;
  }

  bool read_dot(byte_reader& r, dot& d) const {
    if (!read_actor(r, d.actor) || !r.varint(d.counter)) return false;
    if (d.counter == 0) return r.fail("dot counter 0 is not valid");
    return true;
  }

  const std::vector<replica_ref>& actors() const { return actors_; }

private:
  std::vector<replica_ref> actors_;
  mutable std::size_t last_ = 0;
};

/// The dots a state has seen: a version vector for contiguous ranges (actor -> highest counter
/// n, meaning dots 1..n) and a "dot cloud" for dots seen out of order. Always kept compact: no
/// cloud dot is covered by, or adjacent to, the version vector.
class causal_context {
public:
  bool contains(const dot& d) const {
    auto it = ranges_.find(d.actor);
    if (it != ranges_.end() && d.counter <= it->second) return true;
    return cloud_.count(d) > 0;
  }

  /// Records and returns the next dot of `actor` (one past everything seen of it).
  dot next_dot(const replica_ref& actor) {
    auto& top = ranges_[actor];
    dot d{actor, top + 1};
    top = d.counter;
    absorb_cloud(actor);
    return d;
  }

  void insert(const dot& d) {
    auto& top = ranges_[d.actor];
    if (d.counter <= top) return;
    if (d.counter == top + 1) {
      top = d.counter;
      absorb_cloud(d.actor);
    } else {
      if (top == 0) ranges_.erase(d.actor);
      cloud_.insert(d);
    }
  }

  void join(const causal_context& other) {
    for (const auto& [actor, top] : other.ranges_) {
      auto& mine = ranges_[actor];
      if (top > mine) {
        mine = top;
        absorb_cloud(actor);
      }
    }
    for (const auto& d : other.cloud_) insert(d);
  }

  bool empty() const { return ranges_.empty() && cloud_.empty(); }
  void clear() {
    ranges_.clear();
    cloud_.clear();
  }

  /// Highest contiguous counter seen of `actor` (0 if none).
  std::uint64_t top(const replica_ref& actor) const {
    auto it = ranges_.find(actor);
    return it == ranges_.end() ? 0 : it->second;
  }
  /// The counters of `actor` seen out of order (above top + 1), ascending.
  std::vector<std::uint64_t> cloud_of(const replica_ref& actor) const {
    std::vector<std::uint64_t> out;
    for (auto it = cloud_.lower_bound(dot{actor, 0}); it != cloud_.end() && it->actor == actor; ++it)
      out.push_back(it->counter);
    return out;
  }
  /// Whether any dot of `actor` has been seen.
  bool names(const replica_ref& actor) const {
    auto it = cloud_.lower_bound(dot{actor, 0});
    return ranges_.count(actor) > 0 || (it != cloud_.end() && it->actor == actor);
  }
  /// Forgets every dot of `actor`.
  void erase_actor(const replica_ref& actor) {
    ranges_.erase(actor);
    cloud_.erase(cloud_.lower_bound(dot{actor, 0}), cloud_.upper_bound(dot{actor, UINT64_MAX}));
  }
  /// Records dots 1..top of `actor`.
  void insert_range(const replica_ref& actor, std::uint64_t top) {
    if (top == 0) return;
    auto& mine = ranges_[actor];
    if (top <= mine) return;
    mine = top;
    absorb_cloud(actor);
  }
  const std::map<replica_ref, std::uint64_t>& ranges() const { return ranges_; }
  const std::set<dot>& cloud() const { return cloud_; }

  friend bool operator==(const causal_context& a, const causal_context& b) {
    return a.ranges_ == b.ranges_ && a.cloud_ == b.cloud_;
  }

  /// Every actor named in the context, sorted: the actor table of an encoded kernel.
  std::vector<replica_ref> actors() const {
    std::vector<replica_ref> out;
    for (const auto& [actor, top] : ranges_) out.push_back(actor);
    for (const auto& d : cloud_) out.push_back(d.actor);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  /// Writes the context; `table` must hold all its actors.
  void write(byte_writer& w, const actor_table& table) const {
    w.varint(ranges_.size());
    for (const auto& [actor, top] : ranges_) table.write_dot(w, dot{actor, top});
    w.varint(cloud_.size());
    for (const auto& d : cloud_) table.write_dot(w, d);
  }

  /// Reads a context and checks it is in canonical (compact, sorted) form, so that equal states
  /// always have equal bytes.
  bool read(byte_reader& r, const actor_table& table) {
    clear();
    std::uint64_t n = 0;
    if (!r.count(n, 2)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      dot d;
      if (!table.read_dot(r, d)) return false;
      if (!ranges_.empty() && !(ranges_.rbegin()->first < d.actor)) return r.fail("context ranges are not sorted");
      ranges_.emplace_hint(ranges_.end(), d.actor, d.counter);
    }
    if (!r.count(n, 2)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      dot d;
      if (!table.read_dot(r, d)) return false;
      if (!cloud_.empty() && !(*cloud_.rbegin() < d)) return r.fail("context cloud is not sorted");
      if (d.counter <= top(d.actor) + 1) return r.fail("context cloud is not compact");
      cloud_.emplace_hint(cloud_.end(), d);
    }
    return true;
  }

private:
  // Moves cloud dots that became contiguous with the range of `actor` into the range.
  void absorb_cloud(const replica_ref& actor) {
    auto& top = ranges_[actor];
    auto it = cloud_.lower_bound(dot{actor, 0});
    while (it != cloud_.end() && it->actor == actor && it->counter <= top + 1) {
      top = std::max(top, it->counter);
      it = cloud_.erase(it);
    }
  }

  std::map<replica_ref, std::uint64_t> ranges_;
  std::set<dot> cloud_;
};

}  // namespace grove::crdt
