// ormap<K, C>: a map from keys to CRDT values (Grove.Map.ORMap). Keys have add-wins
// observed-remove semantics (a dot_kernel); values are merged with their own merge.
//
// Erasing a key hides it; its value is kept, for good: a replica that has not seen the erase may
// still send an update of that key, and merge stays associative only if the value it lands on is
// the one it had. A key that comes back (re-added here, or updated concurrently elsewhere)
// therefore continues from the value it had: like Akka's ORMap, erase is not a reset of the value.
// Dropping such values safely needs every replica to have seen the erase, a protocol this library
// does not have, so there is no local collection of them (gc.hpp's info() counts them).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "grove/crdt/crdt_traits.hpp"
#include "grove/crdt/dot_kernel.hpp"

namespace grove::crdt {

template <class K, class C>
class ormap {
public:
  explicit ormap(const replica_id& owner = {}) : owner_(owner) {}

  static std::string type_name() { return "grove.ormap<" + value_codec<K>::name() + "," + C::type_name() + ">"; }
  const replica_id& owner() const { return owner_.str(); }

  /// Applies `fn(C&)` to the value at `key` (a fresh C owned by this replica if absent) and makes
  /// the key live. This is how values are changed: `fn` sees the current value, so e.g. an LWW
  /// write gets a stamp later than the one it replaces.
  template <class Fn>
  void update(const K& key, Fn fn) {
    C& value = slot(key);
    value.reset_delta();
    fn(value);
    merge_value(delta_values_, key, value.delta());
    value.reset_delta();
    keys_.add(key, owner_, delta_keys_);
  }
  /// Merges `value` into the value at `key` and makes the key live.
  void put(const K& key, const C& value) {
    slot(key).merge(value);
    merge_value(delta_values_, key, value);
    keys_.add(key, owner_, delta_keys_);
  }
  /// Removes `key` as observed here; returns whether it was live.
  bool erase(const K& key) { return keys_.remove(key, delta_keys_); }

  bool contains(const K& key) const { return keys_.contains(key); }
  std::size_t size() const { return keys_.size(); }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (const auto& entry : keys_.entries()) out.push_back(entry.first);
    return out;
  }
  /// The value at a live key, or nothing.
  const C* get(const K& key) const {
    if (!keys_.contains(key)) return nullptr;
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  /// The value at `key`, or `fallback` if the key is not live.
  C get_or(const K& key, C fallback) const {
    const C* found = get(key);
    return found ? *found : std::move(fallback);
  }
  /// Live keys with their values.
  std::map<K, C> value() const {
    std::map<K, C> out;
    for (const auto& entry : keys_.entries()) {
      auto it = values_.find(entry.first);
      out.emplace_hint(out.end(), entry.first, it != values_.end() ? it->second : C(owner_.str()));
    }
    return out;
  }

  void merge(const ormap& other) {
    keys_.join(other.keys_);
    for (const auto& [key, value] : other.values_) merge_value(values_, key, value);
  }
  ormap delta() const {
    ormap d(owner_.str());
    d.keys_ = delta_keys_;
    d.values_ = delta_values_;
    return d;
  }
  bool has_delta() const { return !delta_keys_.empty() || !delta_values_.empty(); }
  void reset_delta() {
    delta_keys_.reset();
    delta_values_.clear();
  }

  /// Key kernel and stored values (live or not), for inspection.
  const dot_kernel<K>& key_kernel() const { return keys_; }
  const std::map<K, C>& stored_values() const { return values_; }

  void write_state(byte_writer& w) const {
    keys_.write(w, &value_codec<K>::write);
    w.varint(values_.size());
    for (const auto& [key, value] : values_) {
      value_codec<K>::write(w, key);
      value.write_state(w);
    }
  }
  bool read_state(byte_reader& r) {
    values_.clear();
    if (!keys_.read(r, &value_codec<K>::read)) return false;
    std::uint64_t n = 0;
    if (!r.count(n, 2)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      K key{};
      if (!value_codec<K>::read(r, key)) return false;
      if (!values_.empty() && !(values_.rbegin()->first < key))
        return r.fail("map values are not in ascending key order");
      C value(owner_);
      if (!value.read_state(r)) return false;
      values_.emplace_hint(values_.end(), std::move(key), std::move(value));
    }
    return true;
  }

  friend bool operator==(const ormap& a, const ormap& b) { return a.keys_ == b.keys_ && a.values_ == b.values_; }
  friend bool operator!=(const ormap& a, const ormap& b) { return !(a == b); }

private:
  C& slot(const K& key) {
    auto it = values_.find(key);
    if (it == values_.end()) it = values_.emplace(key, C(owner_.str())).first;
    return it->second;
  }

  void merge_value(std::map<K, C>& into, const K& key, const C& value) const {
    auto it = into.find(key);
    if (it == into.end()) it = into.emplace(key, C(owner_.str())).first;
    it->second.merge(value);
  }

  replica_ref owner_;
  dot_kernel<K> keys_;
  std::map<K, C> values_;
  dot_kernel<K> delta_keys_;
  std::map<K, C> delta_values_;
};

}  // namespace grove::crdt
