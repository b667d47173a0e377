// rga<V>: a replicated growable array (Grove.Sequence.RGA; Roh et al. 2011). Every element has a
// position id (Lamport time, replica id) and is inserted after a position (or the head). Siblings
// inserted after the same position are ordered by id, later first, so a replica's own insert lands
// right after the position it named and concurrent inserts come out in the same order everywhere.
// (Grove's docs say "earlier first"; that order would push a fresh insert behind older siblings,
// so we keep the classic RGA order.) Removed elements stay as hidden anchors (tombstones).
//
// Retired incarnations (retired.hpp): an rga cannot retire an incarnation that inserted
// elements. An element's id is (Lamport time, replica), it orders the element among its siblings
// and later elements are anchored to it, so it must stay as it is for the element's whole life,
// and removed elements stay as anchors for good. retire(r) is refused while r is named (an
// rga's metadata grows with the incarnations that inserted, not with restarts), and succeeds
// without changing anything when r is not.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/error.hpp"
#include "grove/crdt/escape.hpp"
#include "grove/crdt/retired.hpp"

namespace grove::crdt {

/// Identifies one element of an rga. The default value is the head (before the first element).
struct position {
  std::uint64_t time = 0;
  replica_ref actor;

  bool is_head() const { return time == 0; }
  friend bool operator==(const position& a, const position& b) { return a.time == b.time && a.actor == b.actor; }
  friend bool operator!=(const position& a, const position& b) { return !(a == b); }
  friend bool operator<(const position& a, const position& b) {
    return std::tie(a.time, a.actor) < std::tie(b.time, b.actor);
  }
};

template <class V>
class rga {
public:
  explicit rga(const replica_id& owner = {}) : owner_(owner) {}

  static std::string type_name() { return "grove.rga<" + value_codec<V>::name() + ">"; }
  const replica_id& owner() const { return owner_.str(); }

  /// Inserts `x` right after `after` (the head by default) and returns the new element's id.
  /// Error invalid_argument if `after` is not an element of this rga.
  expected<position> insert(V x, const position& after = {}) {
    if (!after.is_head() && nodes_.count(after) == 0)
      return error(errc::invalid_argument, "insert after an unknown position");
    position id{max_time_ + 1, owner_};
    node n{after, std::move(x), false};
    delta_nodes_[id] = n;
    add_node(id, std::move(n));
    return id;
  }
  /// Inserts at a visible index (0 = front, size() = back). Error invalid_argument past the end.
  expected<position> insert_at(std::size_t index, V x) {
    if (index > size()) return error(errc::invalid_argument, "insert index past the end");
    position after = index == 0 ? position{} : positions()[index - 1];
    return insert(std::move(x), after);
  }
  /// Removes the element `id`; returns false if it is unknown or already removed.
  bool remove(const position& id) {
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second.removed) return false;
    it->second.removed = true;
    ++removed_;
    delta_nodes_[id] = it->second;
    return true;
  }

  /// Removes every visible element (observed: an insert made concurrently elsewhere survives).
  void clear() {
    for (const auto& id : positions()) remove(id);
  }
  /// Appends `other`'s visible elements, in order, as new inserts of this replica (ormap::put).
  /// `other` may be *this. Never fails.
  status absorb(const rga& other) {
    auto ids = positions();
    position after = ids.empty() ? position{} : ids.back();
    for (auto& x : other.value()) after = *insert(std::move(x), after);
    return {};
  }

  /// See retired.hpp and the head of this file. can_retire's errors (invalid_argument): `r` is
  /// the owner, or elements here were inserted by `r`.
  std::vector<replica_id> origins() const {
    std::set<replica_id> names;
    for (const auto& [id, n] : nodes_) {
      names.insert(id.actor.str());
      if (!n.parent.is_head()) names.insert(n.parent.actor.str());
    }
    return {names.begin(), names.end()};
  }
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const {
    std::vector<std::pair<const position*, const node*>> named;
    for (const auto& [id, n] : nodes_)
      if (id.actor == r || (!n.parent.is_head() && n.parent.actor == r)) named.emplace_back(&id, &n);
    if (named.empty()) return false;
    w.varint(named.size());
    for (const auto& [id_ptr, n_ptr] : named) {
      const position& id = *id_ptr;
      const node& n = *n_ptr;
      w.varint(id.time);
      w.str(id.actor.str());
      w.varint(n.parent.time);
      w.str(n.parent.actor.str());
      w.u8(n.removed ? 1 : 0);
      value_codec<V>::write(w, n.value);
    }
    return true;
  }
  status can_retire(const replica_id& r) const {
    if (auto ok = check_not_owner(owner(), r); !ok) return ok;
    auto inserted = std::count_if(nodes_.begin(), nodes_.end(), [&](const auto& e) { return e.first.actor == r; });
    if (inserted > 0)
      return error(errc::invalid_argument, "an rga cannot retire " + quote_input(r) + ": " + std::to_string(inserted)
                                             + " of its elements (removed ones included) carry its id for good");
    return {};
  }
  status retire(const replica_id& r, std::uint64_t) { return can_retire(r); }
  void expire_retired(std::uint64_t) {}

  /// The visible elements in order.
  std::vector<V> value() const {
    std::vector<V> out;
    walk([&](const position&, const V& x) { out.push_back(x); });
    return out;
  }
  std::vector<V> to_list() const { return value(); }
  /// Ids of the visible elements in order.
  std::vector<position> positions() const {
    std::vector<position> out;
    walk([&](const position& id, const V&) { out.push_back(id); });
    return out;
  }
  /// Number of visible elements (walks the list).
  std::size_t size() const {
    std::size_t n = 0;
    walk([&](const position&, const V&) { ++n; });
    return n;
  }
  /// Elements kept as removed anchors.
  std::size_t tombstones() const { return removed_; }

  void merge(const rga& other) {
    for (const auto& [id, n] : other.nodes_) {
      auto it = nodes_.find(id);
      if (it == nodes_.end()) {
        add_node(id, n);
      } else if (n.removed && !it->second.removed) {
        it->second.removed = true;
        ++removed_;
      }
    }
  }
  rga delta() const {
    rga d(owner_.str());
    for (const auto& [id, n] : delta_nodes_) d.add_node(id, n);
    return d;
  }
  bool has_delta() const { return !delta_nodes_.empty(); }
  void reset_delta() { delta_nodes_.clear(); }

  void write_state(byte_writer& w) const {
    std::set<replica_ref> names;
    for (const auto& [id, n] : nodes_) {
      names.insert(id.actor);
      names.insert(n.parent.actor);
    }
    actor_table table({names.begin(), names.end()});
    table.write(w);
    w.varint(nodes_.size());
    for (const auto& [id, n] : nodes_) {
      w.varint(id.time);
      w.varint(table.index_of(id.actor));
      w.varint(n.parent.time);
      w.varint(table.index_of(n.parent.actor));
      w.u8(n.removed ? 1 : 0);
      value_codec<V>::write(w, n.value);
    }
  }
  bool read_state(byte_reader& r) {
    nodes_.clear();
    children_.clear();
    removed_ = 0;
    max_time_ = 0;
    actor_table table;
    std::uint64_t n = 0;
    if (!table.read(r) || !r.count(n, 6)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      position id;
      node x;
      std::uint8_t removed = 0;
      if (!r.varint(id.time) || !table.read_actor(r, id.actor) || !r.varint(x.parent.time)
          || !table.read_actor(r, x.parent.actor) || !r.u8(removed) || !value_codec<V>::read(r, x.value))
        return false;
      if (id.time == 0) return r.fail("an element with the head's position");
      if (removed > 1) return r.fail("bad removed flag");
      if (x.parent.is_head() && !x.parent.actor.str().empty()) return r.fail("a malformed head position");
      if (!(x.parent < id)) return r.fail("an element older than its anchor");
      if (!nodes_.empty() && !(nodes_.rbegin()->first < id)) return r.fail("elements are not sorted");
      x.removed = removed == 1;
      add_node(id, std::move(x));
    }
    return true;
  }

  friend bool operator==(const rga& a, const rga& b) { return a.nodes_ == b.nodes_; }
  friend bool operator!=(const rga& a, const rga& b) { return !(a == b); }

private:
  struct node {
    position parent;
    V value;
    bool removed = false;
    friend bool operator==(const node& a, const node& b) {
      return a.removed == b.removed && a.parent == b.parent && a.value == b.value;
    }
  };
  // Later siblings first.
  struct later_first {
    bool operator()(const position& a, const position& b) const { return b < a; }
  };

  void add_node(const position& id, node n) {
    max_time_ = std::max(max_time_, id.time);
    if (n.removed) ++removed_;
    children_[n.parent].insert(id);
    nodes_.emplace(id, std::move(n));
  }

  // Depth-first from the head; elements whose anchor has not arrived yet stay hidden.
  template <class F>
  void walk(F visit) const {
    std::vector<position> stack;
    auto push_children = [&](const position& parent) {
      auto it = children_.find(parent);
      if (it == children_.end()) return;
      for (auto c = it->second.rbegin(); c != it->second.rend(); ++c) stack.push_back(*c);
    };
    push_children(position{});
    while (!stack.empty()) {
      position id = stack.back();
      stack.pop_back();
      const node& n = nodes_.at(id);
      if (!n.removed) visit(id, n.value);
      push_children(id);
    }
  }

  replica_ref owner_;
  std::map<position, node> nodes_;
  std::map<position, std::set<position, later_first>> children_;
  std::map<position, node> delta_nodes_;
  std::size_t removed_ = 0;
  std::uint64_t max_time_ = 0;
};

}  // namespace grove::crdt
