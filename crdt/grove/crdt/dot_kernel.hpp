// dot_kernel<K>: keys kept alive by dots, plus the causal context of everything seen. The one
// implementation of add-wins/observed-remove semantics; orset, dvv_set, mv_register and the keys
// of ormap are thin types over it.
//
// Keys live in a B-tree (abseil's btree_map) and each key's dots in a vector with room for one dot
// inline: a key almost always has exactly one dot, so a key costs no allocation of its own, and
// iteration (encode, merge) walks contiguous memory.
#pragma once

#include <absl/container/btree_map.h>
#include <absl/container/inlined_vector.h>

#include "grove/crdt/causal_context.hpp"

namespace grove::crdt {

template <class K>
class dot_kernel {
public:
  using dot_list = absl::InlinedVector<dot, 1>;  // sorted, unique, never empty
  using entry_map = absl::btree_map<K, dot_list>;

  /// Makes `key` live with one fresh dot of `owner`, replacing the dots it had (they stay in the
  /// context, so concurrent adds elsewhere survive: add wins). Records the change in `delta`.
  const dot& add(const K& key, replica_ref owner, dot_kernel& delta) {
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
    auto mine = entries_.begin();
    auto theirs = other.entries_.begin();
    while (mine != entries_.end() || theirs != other.entries_.end()) {
      if (theirs == other.entries_.end()
          || (mine != entries_.end() && entries_.key_comp()(mine->first, theirs->first))) {
        mine = keep_unseen(mine, mine->second, other.context_);
      } else if (mine == entries_.end() || entries_.key_comp()(theirs->first, mine->first)) {
        dot_list added = unseen(theirs->second, context_);
        // Inserting into a B-tree invalidates iterators: continue from the new element.
        if (!added.empty()) mine = std::next(entries_.emplace_hint(mine, theirs->first, std::move(added)));
        ++theirs;
      } else {
        if (mine->second != theirs->second)  // equal dots (the common case) stay as they are
          mine->second = join_dots(mine->second, context_, theirs->second, other.context_);
        mine = mine->second.empty() ? entries_.erase(mine) : std::next(mine);
        ++theirs;
      }
    }
    context_.join(other.context_);
  }

  bool contains(const K& key) const { return entries_.count(key) > 0; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty() && context_.empty(); }
  const entry_map& entries() const { return entries_; }
  const causal_context& context() const { return context_; }
  void reset() {
    entries_.clear();
    context_.clear();
  }

  friend bool operator==(const dot_kernel& a, const dot_kernel& b) {
    return a.context_ == b.context_ && a.entries_ == b.entries_;
  }

  /// Payload: actor table, context, then each key (ascending) with its dots.
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
    return true;
  }

private:
  static dot_list unseen(const dot_list& dots, const causal_context& ctx) {
    dot_list out;
    for (const auto& d : dots)
      if (!ctx.contains(d)) out.push_back(d);
    return out;
  }

  typename entry_map::iterator keep_unseen(typename entry_map::iterator it, dot_list& dots,
                                           const causal_context& other_ctx) {
    auto gone = [&](const dot& d) { return other_ctx.contains(d); };
    dots.erase(std::remove_if(dots.begin(), dots.end(), gone), dots.end());
    return dots.empty() ? entries_.erase(it) : std::next(it);
  }

  static dot_list join_dots(const dot_list& a, const causal_context& a_ctx, const dot_list& b,
                            const causal_context& b_ctx) {
    dot_list out;
    auto i = a.begin();
    auto j = b.begin();
    while (i != a.end() || j != b.end()) {
      if (j == b.end() || (i != a.end() && *i < *j)) {
        if (!b_ctx.contains(*i)) out.push_back(*i);
        ++i;
      } else if (i == a.end() || *j < *i) {
        if (!a_ctx.contains(*j)) out.push_back(*j);
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
};

}  // namespace grove::crdt
