// dot_kernel<K>: keys kept alive by dots, plus the causal context of everything seen. The one
// implementation of add-wins/observed-remove semantics; orset, dvv_set, mv_register and the keys
// of ormap are thin types over it.
//
// Keys live in an entry_store (a two-level B+-tree of sorted arrays) and each key's dots in a
// vector with room for one dot inline: a key almost always has exactly one dot, so a key costs no
// allocation of its own, and iteration (encode, merge) walks contiguous memory.
//
// Retired incarnations (retired.hpp): a kernel keeps their markers beside the context. A dot is
// seen when the context has it or a marker covers it. The context never names a retired actor
// whose marker covers all it saw of it; if it saw more (dots issued after the retire, against the
// protocol), it keeps all of it, the marker's dots included. That makes the form canonical, a
// function of what has been seen, so joins in any order give equal states and equal bytes.
#pragma once

#include <absl/container/inlined_vector.h>

#include <functional>
#include <vector>

#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/entry_store.hpp"
#include "grove/crdt/escape.hpp"
#include "grove/crdt/retired.hpp"

namespace grove::crdt {

template <class K>
class dot_kernel {
public:
  using dot_list = absl::InlinedVector<dot, 1>;  // sorted, unique, never empty
  using entry_map = entry_store<K, dot_list>;

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
    const dot_list* dots = entries_.find(key);
    if (!dots) return false;
    for (const auto& old : *dots) delta.context_.insert(old);
    entries_.erase(key);
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
  /// it. Linear in the sizes of both kernels; a small `other` (a delta) is joined in place, a
  /// check per entry here and a lookup per entry there, not a rebuild of this kernel's entries.
  void join(const dot_kernel& other) {
    if (&other == this) return;  // idempotent (and join_entries moves this kernel's entries out)
    if (other.entries_.size() * 8 <= entries_.size())
      join_entries_in_place(other);
    else
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

  bool contains(const K& key) const { return entries_.find(key) != nullptr; }
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
    write_entries(w, table, write_key);
    retired_.write(w);
  }

  /// Reads what `write` wrote and checks the kernel's invariants (keys ascending, dots sorted and
  /// seen by the context), so a decoded kernel is canonical.
  template <class ReadKey>
  bool read(byte_reader& r, ReadKey read_key) {
    reset();
    actor_table table;
    if (!table.read(r) || !context_.read(r, table) || !read_entries(r, table, read_key)) return false;
    return r.version() < 2 || read_retired(r);
  }

private:
  // The entries part of join: walks both kernels in key order into a new store, reading this
  // one's leaf by leaf and freeing each leaf once read, so the allocator reuses it (a rebuild that
  // kept both stores halved the speed through page faults). Against both sides' contexts and
  // markers as they were before the join.
  void join_entries(const dot_kernel& other) {
    entry_map out;
    out.expect(entries_.size() + other.entries_.size());
    seen_lookup seen_here(*this), seen_there(other);
    typename entry_map::drain mine(entries_);
    auto theirs = other.entries_.begin(), theirs_end = other.entries_.end();
    while (!mine.done() || theirs != theirs_end) {
      int order = mine.done() ? 1 : theirs == theirs_end ? -1 : compare_keys(mine.current().first, theirs->first);
      if (order > 0) {
        dot_list added = unseen(theirs->second, seen_here);
        if (!added.empty()) out.push_back(theirs->first, std::move(added));
        ++theirs;
        continue;
      }
      auto& [key, dots] = mine.current();
      if (order < 0) {
        keep_unseen(dots, seen_there);
      } else {
        if (dots != theirs->second)  // equal dots (the common case) stay as they are
          dots = join_dots(dots, seen_here, theirs->second, seen_there);
        ++theirs;
      }
      if (!dots.empty()) out.push_back(std::move(key), std::move(dots));
      mine.next();
    }
    entries_ = std::move(out);
  }

  // The entries part of join for a small `other`: its entries are looked up here, and this
  // kernel's entries are only checked (a dot the other side has not seen stays), so only the keys
  // that change are touched. Against both sides' contexts and markers as they were before.
  void join_entries_in_place(const dot_kernel& other) {
    seen_lookup seen_here(*this), seen_there(other);
    std::vector<std::pair<K, dot_list>> changed;  // new dots of a key (none: the key goes)
    for (const auto& [key, theirs] : other.entries_) {
      if (const dot_list* mine = entries_.find(key)) {
        if (*mine != theirs) changed.emplace_back(key, join_dots(*mine, seen_here, theirs, seen_there));
      } else if (dot_list added = unseen(theirs, seen_here); !added.empty()) {
        changed.emplace_back(key, std::move(added));
      }
    }
    for (const auto& [key, dots] : entries_) {
      if (std::none_of(dots.begin(), dots.end(), std::ref(seen_there)) || other.entries_.find(key)) continue;
      dot_list kept = dots;
      keep_unseen(kept, seen_there);
      changed.emplace_back(key, std::move(kept));
    }
    for (auto& [key, dots] : changed) {
      if (dots.empty())
        entries_.erase(key);
      else
        *entries_.try_emplace(key).first = std::move(dots);
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

  // Keys (ascending), each with its dots.
  template <class WriteKey>
  void write_entries(byte_writer& w, const actor_table& table, WriteKey write_key) const {
    w.varint(entries_.size());
    std::size_t written = 0, start = w.written();
    for (const auto& [key, dots] : entries_) {
      // String keys are written in place (value_codec<std::string>'s format) into room made once
      // per entry.
      if constexpr (std::is_same_v<K, std::string>) {
        char* p = w.claim(key.size() + 20 + 20 * dots.size());
        p = byte_writer::put_raw(byte_writer::put_varint(p, key.size()), key);
        p = byte_writer::put_varint(p, dots.size());
        for (const auto& d : dots) p = table.put_dot(p, d);
        w.commit(p);
      } else {
        write_key(w, key);
        w.varint(dots.size());
        for (const auto& d : dots) table.write_dot(w, d);
      }
      // After a sample, room for the rest at once (with a tenth to spare), not by doublings.
      if (++written == 64 && entries_.size() > 128)
        w.reserve((w.written() - start) / 64 * (entries_.size() - 64) * 11 / 10);
    }
  }

  // Reads what write_entries wrote: keys ascending, each with sorted dots the context has seen.
  template <class ReadKey>
  bool read_entries(byte_reader& r, const actor_table& table, ReadKey read_key) {
    std::uint64_t n = 0;
    if (!r.count(n, 3)) return false;
    entries_.expect(static_cast<std::size_t>(n));
    dot d;  // reused: constructing a replica_ref is a call
    replica_ref last_actor;
    std::uint64_t last_top = 0;  // context_.top(last_actor)
    for (std::uint64_t i = 0; i < n; ++i) {
      // String keys are built once, in place, from the input (value_codec<std::string>'s format).
      std::conditional_t<std::is_same_v<K, std::string>, bytes_view, K> key{};
      if constexpr (std::is_same_v<K, std::string>) {
        if (!r.str(key)) return false;
        if (!entries_.empty() && !(bytes_view(entries_.back().first) < key))
          return r.fail("keys are not in ascending order");
      } else {
        if (!read_key(r, key)) return false;
        if (!entries_.empty() && !(entries_.back().first < key)) return r.fail("keys are not in ascending order");
      }
      std::uint64_t ndots = 0;
      if (!r.count(ndots, 2)) return false;
      if (ndots == 0) return r.fail("a key without dots");
      dot_list dots;
      for (std::uint64_t j = 0; j < ndots; ++j) {
        if (!table.read_dot(r, d)) return false;
        if (j > 0 && !(dots.back() < d)) return r.fail("dots are not sorted");
        if (d.actor != last_actor) {
          last_actor = d.actor;
          last_top = context_.top(d.actor);
        }
        if (d.counter > last_top && !context_.contains(d)) return r.fail("a live dot missing from the context");
        dots.push_back(d);
      }
      entries_.push_back(std::move(key), std::move(dots));
    }
    return true;
  }

  // The markers, checked for the canonical form: a context entry of a retired actor holds more
  // than its marker, and no live dot is one a marker covers.
  bool read_retired(byte_reader& r) {
    if (!retired_.read(r)) return false;
    for (const auto& entry : retired_.markers()) {
      const auto& actor = entry.first;  // (a lambda may not capture a structured binding in C++17)
      const auto& marker = entry.second;
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

  // <0, 0, >0 as a is before, equal to or after b: one comparison of strings, not two.
  static int compare_keys(const K& a, const K& b) {
    if constexpr (std::is_same_v<K, std::string>)
      return a.compare(b);
    else
      return a < b ? -1 : b < a ? 1 : 0;
  }

  // seen() for the many dots of one join: remembers what the kernel has seen of the last actor
  // asked about (a kernel's dots come in runs of one actor): its range, the bounds of its cloud
  // dots, whether it has a marker. Most dots are answered from those alone.
  class seen_lookup {
  public:
    explicit seen_lookup(const dot_kernel& kernel) : kernel_(kernel) {}
    GROVE_HOT bool operator()(const dot& d) {
      if (!known_ || d.actor != actor_) remember(d.actor);
      if (d.counter <= top_) return true;
      if (!has_marker_ && (d.counter < cloud_.first || d.counter > cloud_.second)) return false;
      return kernel_.seen(d);
    }

  private:
    void remember(const replica_ref& actor) {
      known_ = true;
      actor_ = actor;
      top_ = kernel_.context_.top(actor);
      cloud_ = kernel_.context_.cloud_bounds(actor);
      has_marker_ = kernel_.retired_.contains(actor);
    }

    const dot_kernel& kernel_;
    bool known_ = false;
    replica_ref actor_;
    std::uint64_t top_ = 0;                            // kernel_.context_.top(actor_)
    std::pair<std::uint64_t, std::uint64_t> cloud_{};  // kernel_.context_.cloud_bounds(actor_)
    bool has_marker_ = false;
  };

  static dot_list unseen(const dot_list& dots, seen_lookup& seen) {
    dot_list out;
    for (const auto& d : dots)
      if (!seen(d)) out.push_back(d);
    return out;
  }

  static void keep_unseen(dot_list& dots, seen_lookup& seen) {
    dots.erase(std::remove_if(dots.begin(), dots.end(), [&](const dot& d) { return seen(d); }), dots.end());
  }

  static dot_list join_dots(const dot_list& a, seen_lookup& a_side, const dot_list& b, seen_lookup& b_side) {
    dot_list out;
    auto i = a.begin();
    auto j = b.begin();
    while (i != a.end() || j != b.end()) {
      if (j == b.end() || (i != a.end() && *i < *j)) {
        if (!b_side(*i)) out.push_back(*i);
        ++i;
      } else if (i == a.end() || *j < *i) {
        if (!a_side(*j)) out.push_back(*j);
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
