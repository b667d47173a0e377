// Retired incarnations. A replica takes a fresh incarnation ("replica_id@random") at every start,
// so that it never issues a dot twice; the metadata naming its old incarnations is then pruned, in
// the manner of Akka Distributed Data's RemovedNodePruning. The replication layer checks that
// every replica of a group holds an identical projection of the state on a retired incarnation r
// (origin_digest(r): everything in the state that names r), then asks one live replica to call
// retire(r, expires_at_ms). Every replica type offers the same calls:
//
//   origins()               every actor (incarnation) the state's metadata names, sorted, without
//                           retired ones;
//   origin_digest(r)        xxh3-64 of the projection on r (write_origin_projection): equal
//                           projections give equal digests in every process;
//   can_retire(r)           whether retire(r) would succeed (its errors), changing nothing;
//   retire(r, expires_at_ms)   counters fold r's count into the owner's own and drop r's; dot-based
//                           states (only when r keeps no key alive) move r's causal-context entry
//                           into a retired marker; lww_register, gset and twop_set accumulate
//                           nothing; rga refuses when r inserted elements; ormap does it for its
//                           keys and every value that names r, all or nothing. r must not be the
//                           owner. The effect goes into the delta like any mutation;
//   expire_retired(now_ms)  drops the markers whose expiry is at or before now_ms.
//
// A marker {r -> what was seen of r, expiry} travels in states and deltas. Merge keeps the union of
// the markers (the latest expiry) and drops data of retired origins: a counter slot of r is
// ignored, a dot of r that the marker covers counts as seen. So replicas that merge in any order,
// duplicates included, reach the same state, and a retire never changes the value (the folded
// count is kept). Only one replica may retire a given r: two folds of the same count would count
// it twice.
//
// After expire_retired drops a marker, data of r that was not pruned is no longer recognised. A
// replica that was away for longer than the marker's lifetime and comes back holding r's data
// brings it back: a counter counts r's share twice, an element removed while it was away but kept
// alive there by r's dot reappears. As with Cassandra's gc_grace_seconds, a replica that has been
// away longer than the lifetime must rejoin empty.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/error.hpp"

namespace grove::crdt {

/// What a state had seen of a retired incarnation: its events 1..top and the `cloud` counters
/// above top + 1 (a counter's slot is `top` alone), and when the marker expires.
struct retired_marker {
  std::uint64_t top = 0;
  std::vector<std::uint64_t> cloud;  // ascending, each > top + 1
  std::uint64_t expires_at_ms = 0;

  bool covers(std::uint64_t counter) const;
  /// Union of what both saw, the later expiry.
  void join(const retired_marker& other);

  friend bool operator==(const retired_marker& a, const retired_marker& b) {
    return a.top == b.top && a.cloud == b.cloud && a.expires_at_ms == b.expires_at_ms;
  }
};

/// The markers of a state, by retired actor (ordered by name, as encodings are).
class retired_origins {
public:
  using marker_map = std::map<replica_ref, retired_marker>;

  bool empty() const { return markers_.empty(); }
  bool contains(const replica_ref& actor) const { return markers_.count(actor) > 0; }
  const retired_marker* find(const replica_ref& actor) const;
  /// Whether `d` belongs to a retired actor and its marker has seen it.
  bool covers(const dot& d) const {
    if (markers_.empty()) return false;
    const auto* marker = find(d.actor);
    return marker && marker->covers(d.counter);
  }
  const marker_map& markers() const { return markers_; }

  void add(const replica_ref& actor, const retired_marker& marker);
  void join(const retired_origins& other);
  /// Drops the markers whose expiry is at or before `now_ms`.
  void expire(std::uint64_t now_ms);
  void clear() { markers_.clear(); }

  /// Markers in ascending actor order: name, top, cloud, expiry.
  void write(byte_writer& w) const;
  /// Reads what write wrote and checks its canonical form.
  bool read(byte_reader& r);
  /// The marker of `actor` (or its absence), for a projection.
  void write_projection(byte_writer& w, const replica_ref& actor) const;

  friend bool operator==(const retired_origins& a, const retired_origins& b) { return a.markers_ == b.markers_; }

private:
  marker_map markers_;
};

/// xxh3-64 of a projection's bytes.
std::uint64_t projection_digest(bytes_view projection);

/// origin_digest(r) of any type with write_origin_projection.
template <class T>
std::uint64_t origin_digest_of(const T& x, const replica_id& r) {
  bytes out;
  {
    byte_writer w(out);
    x.write_origin_projection(w, r);
  }
  return projection_digest(out);
}

/// The error of retiring a replica's own id (invalid_argument), or success for any other id.
status check_not_owner(const replica_id& owner, const replica_id& retired);

/// The retired-incarnation calls of a type whose state names no replica (gset, twop_set): there
/// is nothing to prune, so retire succeeds for any id but the owner's and changes nothing.
template <class Derived>
class names_no_origin {
public:
  std::vector<replica_id> origins() const { return {}; }
  std::uint64_t origin_digest(const replica_id&) const { return projection_digest({}); }
  bool write_origin_projection(byte_writer&, const replica_id&) const { return false; }
  status can_retire(const replica_id& r) const {
    return check_not_owner(static_cast<const Derived&>(*this).owner(), r);
  }
  status retire(const replica_id& r, std::uint64_t) { return can_retire(r); }
  void expire_retired(std::uint64_t) {}
};

/// The names of `actors` that are not retired, as strings (origins()).
std::vector<replica_id> unretired_names(const std::vector<replica_ref>& actors, const retired_origins& retired);

}  // namespace grove::crdt
