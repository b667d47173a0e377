// orset<E>: an add-wins observed-remove set (Grove.Set.ORSet). A remove takes away the adds it
// has observed; an add concurrent with a remove survives; an element can be re-added. Built on
// dot_kernel, so removes leave no per-element tombstone.
//
// dvv_set<E>: Grove.Set.DVVSet, the same semantics with at most one dot per replica per element.
// On this kernel every orset already has that property (an add replaces the element's observed
// dots), so dvv_set is the same machinery under its own type name.
#pragma once

#include <set>
#include <string>

#include "grove/crdt/dot_kernel.hpp"

namespace grove::crdt {

template <class E>
class basic_dot_set : public kernel_crdt<E> {
  using kernel_crdt<E>::owner_;
  using kernel_crdt<E>::state_;
  using kernel_crdt<E>::delta_;

public:
  explicit basic_dot_set(const replica_id& owner = {}) : kernel_crdt<E>(owner) {}

  /// Adds `x` (again, if present: this refreshes its dot so that it wins over a concurrent remove).
  void add(const E& x) { state_.add(x, owner_, delta_); }
  /// Removes `x` as observed here; returns false if it was not present.
  bool remove(const E& x) { return state_.remove(x, delta_); }
  /// Removes every element (observed: an add made concurrently elsewhere survives).
  void clear() { state_.clear(delta_); }
  /// Adds every element of `other` with fresh dots of this replica (ormap::put). `other`'s own
  /// dots are never imported, so a set built elsewhere, even under this replica's id, loses nothing
  /// here. `other` may be *this. Never fails.
  status absorb(const basic_dot_set& other) {
    for (const auto& x : other.value()) add(x);
    return {};
  }

  bool contains(const E& x) const { return state_.contains(x); }
  std::size_t size() const { return state_.size(); }
  std::set<E> value() const {
    std::set<E> out;
    for (const auto& entry : state_.entries()) out.insert(out.end(), entry.first);
    return out;
  }
  /// Entries with the dots that keep them alive (for inspection and GC statistics).
  const dot_kernel<E>& kernel() const { return state_; }

  void merge(const basic_dot_set& other) { state_.join(other.state_); }

protected:
  template <class Derived>
  Derived make_delta() const {
    Derived d(owner_.str());
    d.state_ = delta_;
    return d;
  }

  friend bool operator==(const basic_dot_set& a, const basic_dot_set& b) { return a.state_ == b.state_; }
};

template <class E>
class orset : public basic_dot_set<E> {
public:
  using basic_dot_set<E>::basic_dot_set;
  static std::string type_name() { return "grove.orset<" + value_codec<E>::name() + ">"; }
  /// The adds and removes made here since the last reset_delta().
  orset delta() const { return this->template make_delta<orset>(); }
  friend bool operator!=(const orset& a, const orset& b) { return !(a == b); }
};

template <class E>
class dvv_set : public basic_dot_set<E> {
public:
  using basic_dot_set<E>::basic_dot_set;
  static std::string type_name() { return "grove.dvv_set<" + value_codec<E>::name() + ">"; }
  dvv_set delta() const { return this->template make_delta<dvv_set>(); }
  friend bool operator!=(const dvv_set& a, const dvv_set& b) { return !(a == b); }
};

}  // namespace grove::crdt
