// dot_kernel<K>: keys kept alive by dots, plus the causal context of everything seen. The one
// implementation of add-wins/observed-remove semantics; orset, dvv_set, mv_register and the keys
// of ormap are thin types over it.
//
// Keys live in a B-tree (abseil's btree_map) and each key's dots in a vector with room for one dot
// inline: a key almost always has exactly one dot, so a key costs no allocation of its own, and
// iteration (encode, merge) walks contiguous memory.
//
// Retired incarnations (retired.hpp): a kernel keeps their markers beside the context. A dot is
// seen when the context has it or a marker covers it. The context never names a retired actor
// whose marker covers all it saw of it; if it saw more (dots issued after the retire, against the
// protocol), it keeps all of it, the marker's dots included. That makes the form canonical, a
// function of what has been seen, so joins in any order give equal states and equal bytes.
#pragma once

#include <absl/container/btree_map.h>
#include <absl/container/inlined_vector.h>

#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/escape.hpp"
#include "grove/crdt/retired.hpp"

namespace grove::crdt {

template <class K>
class dot_kernel {
public:
  using dot_list = absl::InlinedVector<dot, 1>;  // sorted, unique, never empty
  using entry_map = absl::btree_map<K, dot_list>;

  /// Makes `key` live with one fresh dot of `owner`, replacing the dots it had (they stay in the
  /// context, so concurrent adds elsewhere survive: add wins). Records the change in `delta`.
  const dot& add(const K& key, replica_ref owner, dot_kernel& delta) {
    if (const auto* marker = retired_.find(owner)) resume_retired(owner, *marker);
    dot d = context_.next_dot(owner);
    auto& dots = entries_[key];
    for (const auto& old : dots) delta.context_.insert(old);
    delta.context_.insert(d);
    dots.assign(1, d);
    delta.entries_[key].assign(1, d);
    return dots.front();
  }

  /// Removes `key` (the dots observed here); returns whether it was present.
  bool remove(const K& key, dot_kernel& delta) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    for (const auto& old : it->second) delta.context_.insert(old);
    entries_.erase(it);
    delta.entries_.erase(key);
    return true;
  }

  /// Removes every key.
  void clear(dot_kernel& delta) {
    for (const auto& [key, dots] : entries_) {
      for (const auto& old : dots) delta.context_.insert(old);
    }
    entries_.clear();
    delta.entries_.clear();
  }

  /// Join: a dot survives if both sides have it, or one side has it and the other has not seen
  /// it. Linear in the sizes of both kernels.
  void join(const dot_kernel& other) {
    join_entries(other);
    context_.join(other.context_);
    if (!other.retired_.empty()) retired_.join(other.retired_);
    normalize_retired();
  }

  /// Whether this kernel has seen `d` (its context has it, or a retired marker covers it).
  bool seen(const dot& d) const { return context_.contains(d) || retired_.covers(d); }

  /// Actors named in the context, without retired ones (origins()).
  std::vector<replica_id> origins() const { return unretired_names(context_.actors(), retired_); }
  /// How many dots of `actor` keep keys alive.
  std::size_t live_dots_of(const replica_ref& actor) const {
    std::size_t n = 0;
    for (const auto& [key, dots] : entries_)
      for (const auto& d : dots) n += d.actor == actor ? 1 : 0;
    return n;
  }
  /// retire's precondition: `actor` keeps no key alive. Errors: invalid_argument.
  status can_retire(const replica_ref& actor) const {
    if (auto n = live_dots_of(actor); n > 0)
      return error(errc::invalid_argument, "cannot retire " + quote_input(actor.str()) + ": " + std::to_string(n)
                                             + " of its dots still keep entries alive");
    return {};
  }
  /// Moves `actor`'s context entry into a retired marker, here and in `delta`. Precondition:
  /// can_retire(actor).
  void retire(const replica_ref& actor, std::uint64_t expires_at_ms, dot_kernel& delta) {
    retired_marker marker{context_.top(actor), context_.cloud_of(actor), expires_at_ms};
    retired_.add(actor, marker);
    normalize_retired();
    delta.retired_.add(actor, marker);
    delta.normalize_retired();
  }
  void expire_retired(std::uint64_t now_ms) { retired_.expire(now_ms); }
  const retired_origins& retired() const { return retired_; }

  /// Everything that names `actor`: its context entry, its live dots with their keys, its
  /// marker. Writes nothing and returns false when nothing does.
  template <class WriteKey>
  bool write_origin_projection(byte_writer& w, const replica_ref& actor, WriteKey write_key) const {
    std::vector<std::pair<const K*, std::vector<std::uint64_t>>> kept;
    for (const auto& [key, dots] : entries_) {
      std::vector<std::uint64_t> counters;
      for (const auto& d : dots)
        if (d.actor == actor) counters.push_back(d.counter);
      if (!counters.empty()) kept.emplace_back(&key, std::move(counters));
    }
    if (kept.empty() && !context_.names(actor) && !retired_.contains(actor)) return false;
    w.varint(context_.top(actor));
    auto cloud = context_.cloud_of(actor);
    w.varint(cloud.size());
    for (auto counter : cloud) w.varint(counter);
    w.varint(kept.size());
    for (const auto& [key, counters] : kept) {
      write_key(w, *key);
      w.varint(counters.size());
      for (auto counter : counters) w.varint(counter);
    }
    retired_.write_projection(w, actor);
    return true;
  }

  bool contains(const K& key) const { return entries_.count(key) > 0; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty() && context_.empty() && retired_.empty(); }
  const entry_map& entries() const { return entries_; }
  const causal_context& context() const { return context_; }
  void reset() {
    entries_.clear();
    context_.clear();
    retired_.clear();
  }

  friend bool operator==(const dot_kernel& a, const dot_kernel& b) {
    return a.context_ == b.context_ && a.entries_ == b.entries_ && a.retired_ == b.retired_;
  }

  /// Payload: actor table, context, each key (ascending) with its dots, then (since format 2) the
  /// retired markers.
  template <class WriteKey>
  void write(byte_writer& w, WriteKey write_key) const {
    actor_table table(context_.actors());
    table.write(w);
    context_.write(w, table);
    w.varint(entries_.size());
    for (const auto& [key, dots] : entries_) {
      write_key(w, key);
      w.varint(dots.size());
      for (const auto& d : dots) table.write_dot(w, d);
    }
    retired_.write(w);
  }

  /// Reads what `write` wrote and checks the kernel's invariants (keys ascending, dots sorted and
  /// seen by the context), so a decoded kernel is canonical.
  template <class ReadKey>
  bool read(byte_reader& r, ReadKey read_key) {
    reset();
    actor_table table;
    if (!table.read(r) || !context_.read(r, table)) return false;
    std::uint64_t n = 0;
    if (!r.count(n, 3)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      K key{};
      if (!read_key(r, key)) return false;
      std::uint64_t ndots = 0;
      if (!r.count(ndots, 2)) return false;
      if (ndots == 0) return r.fail("a key without dots");
      dot_list dots;
      dots.reserve(static_cast<std::size_t>(ndots));
      for (std::uint64_t j = 0; j < ndots; ++j) {
        dot d;
        if (!table.read_dot(r, d)) return false;
        if (!dots.empty() && !(dots.back() < d)) return r.fail("dots are not sorted");
        if (!context_.contains(d)) return r.fail("a live dot missing from the context");
        dots.push_back(std::move(d));
      }
      // Keys must arrive in ascending order: each one lands at the end, as a new key.
      auto size_before = entries_.size();
      auto it = entries_.emplace_hint(entries_.end(), std::move(key), std::move(dots));
      if (entries_.size() == size_before || std::next(it) != entries_.end())
        return r.fail("keys are not in ascending order");
    }
    return r.version() < 2 || read_retired(r);
  }

private:
  // The entries part of join, against both sides' contexts and markers as they were before it.
  void join_entries(const dot_kernel& other) {
    auto mine = entries_.begin();
    auto theirs = other.entries_.begin();
    while (mine != entries_.end() || theirs != other.entries_.end()) {
      if (theirs == other.entries_.end()
          || (mine != entries_.end() && entries_.key_comp()(mine->first, theirs->first))) {
        mine = keep_unseen(mine, mine->second, other);
      } else if (mine == entries_.end() || entries_.key_comp()(theirs->first, mine->first)) {
        dot_list added = unseen(theirs->second, *this);
        // Inserting into a B-tree invalidates iterators: continue from the new element.
        if (!added.empty()) mine = std::next(entries_.emplace_hint(mine, theirs->first, std::move(added)));
        ++theirs;
      } else {
        if (mine->second != theirs->second)  // equal dots (the common case) stay as they are
          mine->second = join_dots(mine->second, *this, theirs->second, other);
        mine = mine->second.empty() ? entries_.erase(mine) : std::next(mine);
        ++theirs;
      }
    }
  }

  // Adds the marker's dots to the context entry of `actor`: the canonical form of an actor seen
  // beyond its marker. An owner whose id was retired (against the protocol of retired.hpp) does
  // this before its next dot, so it goes on past everything the marker has seen and never
  // reissues a dot.
  void resume_retired(const replica_ref& actor, const retired_marker& marker) {
    context_.insert_range(actor, marker.top);
    for (auto counter : marker.cloud) context_.insert(dot{actor, counter});
  }

  // The canonical form of the context for the retired actors (see the head of this file).
  void normalize_retired() {
    for (const auto& [actor, marker] : retired_.markers()) {
      if (!context_.names(actor)) continue;
      if (covered(actor, marker))
        context_.erase_actor(actor);
      else
        resume_retired(actor, marker);
    }
  }

  // Whether `marker` covers every dot of `actor` in the context.
  bool covered(const replica_ref& actor, const retired_marker& marker) const {
    if (context_.top(actor) > marker.top) return false;
    auto cloud = context_.cloud_of(actor);
    return std::all_of(cloud.begin(), cloud.end(), [&](std::uint64_t c) { return marker.covers(c); });
  }

  // The markers, checked for the canonical form: a context entry of a retired actor holds more
  // than its marker, and no live dot is one a marker covers.
  bool read_retired(byte_reader& r) {
    if (!retired_.read(r)) return false;
    for (const auto& [actor, marker] : retired_.markers()) {
      if (!context_.names(actor)) continue;
      bool holds_marker = context_.top(actor) >= marker.top
                          && std::all_of(marker.cloud.begin(), marker.cloud.end(), [&](std::uint64_t c) {
                               return context_.contains(dot{actor, c});
                             });
      if (!holds_marker || covered(actor, marker)) return r.fail("a retired actor's context entry is not canonical");
    }
    if (retired_.empty()) return true;
    for (const auto& [key, dots] : entries_)
      for (const auto& d : dots)
        if (retired_.covers(d)) return r.fail("a live dot of a retired actor");
    return true;
  }

  static dot_list unseen(const dot_list& dots, const dot_kernel& by) {
    dot_list out;
    for (const auto& d : dots)
      if (!by.seen(d)) out.push_back(d);
    return out;
  }

  typename entry_map::iterator keep_unseen(typename entry_map::iterator it, dot_list& dots, const dot_kernel& other) {
    auto gone = [&](const dot& d) { return other.seen(d); };
    dots.erase(std::remove_if(dots.begin(), dots.end(), gone), dots.end());
    return dots.empty() ? entries_.erase(it) : std::next(it);
  }

  static dot_list join_dots(const dot_list& a, const dot_kernel& a_side, const dot_list& b, const dot_kernel& b_side) {
    dot_list out;
    auto i = a.begin();
    auto j = b.begin();
    while (i != a.end() || j != b.end()) {
      if (j == b.end() || (i != a.end() && *i < *j)) {
        if (!b_side.seen(*i)) out.push_back(*i);
        ++i;
      } else if (i == a.end() || *j < *i) {
        if (!a_side.seen(*j)) out.push_back(*j);
        ++j;
      } else {
        out.push_back(*i);
        ++i;
        ++j;
      }
    }
    return out;
  }

  entry_map entries_;
  causal_context context_;
  retired_origins retired_;
};

/// What the CRDTs that are one dot_kernel (orset, dvv_set, mv_register) share: the owner, the
/// state and the delta, the codec, and the retired-incarnation calls (retired.hpp).
template <class K>
class kernel_crdt {
public:
  explicit kernel_crdt(const replica_id& owner) : owner_(owner) {}

  const replica_id& owner() const { return owner_.str(); }
  bool has_delta() const { return !delta_.empty(); }
  void reset_delta() { delta_.reset(); }

  void write_state(byte_writer& w) const { state_.write(w, &value_codec<K>::write); }
  bool read_state(byte_reader& r) { return state_.read(r, &value_codec<K>::read); }

  /// See retired.hpp. can_retire's errors (invalid_argument): `r` is the owner, or dots of `r`
  /// still keep entries alive (re-add them here first).
  std::vector<replica_id> origins() const { return state_.origins(); }
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const {
    return state_.write_origin_projection(w, r, &value_codec<K>::write);
  }
  status can_retire(const replica_id& r) const {
    if (auto ok = check_not_owner(owner(), r); !ok) return ok;
    return state_.can_retire(r);
  }
  status retire(const replica_id& r, std::uint64_t expires_at_ms) {
    if (auto ok = can_retire(r); !ok) return ok;
    state_.retire(r, expires_at_ms, delta_);
    return {};
  }
  void expire_retired(std::uint64_t now_ms) { state_.expire_retired(now_ms); }

protected:
  replica_ref owner_;
  dot_kernel<K> state_;
  dot_kernel<K> delta_;
};

}  // namespace grove::crdt
