// gset<E>: a grow-only set (Grove.Set.GSet); merge is union.
// twop_set<E>: add and remove, but a removed element can never come back (Grove.Set.TwoPSet);
// removals are tombstones that are never collected.
#pragma once

#include <set>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/retired.hpp"

namespace grove::crdt {

namespace detail {

template <class E>
void write_set(byte_writer& w, const std::set<E>& xs) {
  w.varint(xs.size());
  for (const auto& x : xs) value_codec<E>::write(w, x);
}

template <class E>
bool read_set(byte_reader& r, std::set<E>& xs) {
  xs.clear();
  std::uint64_t n = 0;
  if (!r.count(n)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    E x{};
    if (!value_codec<E>::read(r, x)) return false;
    if (!xs.empty() && !(*xs.rbegin() < x)) return r.fail("set elements are not in ascending order");
    xs.emplace_hint(xs.end(), std::move(x));
  }
  return true;
}

}  // namespace detail

template <class E>
class gset : public names_no_origin<gset<E>> {
public:
  explicit gset(replica_id owner = {}) : owner_(std::move(owner)) {}

  static std::string type_name() { return "grove.gset<" + value_codec<E>::name() + ">"; }
  const replica_id& owner() const { return owner_; }

  /// Adds `x`; returns false if it was already there.
  bool add(const E& x) {
    if (!elements_.insert(x).second) return false;
    delta_.insert(x);
    return true;
  }
  bool contains(const E& x) const { return elements_.count(x) > 0; }
  std::size_t size() const { return elements_.size(); }
  const std::set<E>& value() const { return elements_; }

  void merge(const gset& other) { elements_.insert(other.elements_.begin(), other.elements_.end()); }
  gset delta() const {
    gset d(owner_);
    d.elements_ = delta_;
    return d;
  }
  bool has_delta() const { return !delta_.empty(); }
  void reset_delta() { delta_.clear(); }

  void write_state(byte_writer& w) const { detail::write_set(w, elements_); }
  bool read_state(byte_reader& r) { return detail::read_set(r, elements_); }

  friend bool operator==(const gset& a, const gset& b) { return a.elements_ == b.elements_; }
  friend bool operator!=(const gset& a, const gset& b) { return !(a == b); }

private:
  replica_id owner_;
  std::set<E> elements_;
  std::set<E> delta_;
};

template <class E>
class twop_set : public names_no_origin<twop_set<E>> {
public:
  explicit twop_set(replica_id owner = {}) : added_(owner), removed_(std::move(owner)) {}

  static std::string type_name() { return "grove.twop_set<" + value_codec<E>::name() + ">"; }
  const replica_id& owner() const { return added_.owner(); }

  /// Adds `x`. Refused (returns false) once `x` has been removed, anywhere: no re-add.
  bool add(const E& x) {
    if (removed_.contains(x)) return false;
    added_.add(x);
    return true;
  }
  /// Removes `x` for good; returns false if `x` is not in the set.
  bool remove(const E& x) {
    if (!contains(x)) return false;
    removed_.add(x);
    return true;
  }
  bool contains(const E& x) const { return added_.contains(x) && !removed_.contains(x); }
  /// The elements added and not removed.
  std::set<E> value() const {
    std::set<E> out;
    for (const auto& x : added_.value())
      if (!removed_.contains(x)) out.insert(out.end(), x);
    return out;
  }
  std::size_t size() const { return value().size(); }
  /// Number of removed elements still remembered (tombstones are never collected).
  std::size_t tombstones() const { return removed_.size(); }

  void merge(const twop_set& other) {
    added_.merge(other.added_);
    removed_.merge(other.removed_);
  }
  twop_set delta() const {
    twop_set d(owner());
    d.added_ = added_.delta();
    d.removed_ = removed_.delta();
    return d;
  }
  bool has_delta() const { return added_.has_delta() || removed_.has_delta(); }
  void reset_delta() {
    added_.reset_delta();
    removed_.reset_delta();
  }

  void write_state(byte_writer& w) const {
    added_.write_state(w);
    removed_.write_state(w);
  }
  bool read_state(byte_reader& r) { return added_.read_state(r) && removed_.read_state(r); }

  friend bool operator==(const twop_set& a, const twop_set& b) {
    return a.added_ == b.added_ && a.removed_ == b.removed_;
  }
  friend bool operator!=(const twop_set& a, const twop_set& b) { return !(a == b); }

private:
  gset<E> added_;
  gset<E> removed_;
};

}  // namespace grove::crdt
