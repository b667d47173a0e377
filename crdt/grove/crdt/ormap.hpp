// ormap<K, C>: a map from keys to CRDT values (Grove.Map.ORMap) with the semantics of the
// delta-state ORMap of Almeida, Shoker and Baquero ("Delta State Replicated Data Types", 2016;
// reference code: CBaquero/delta-enabled-crdts). Keys have add-wins observed-remove semantics (a
// dot_kernel); values are merged with their own merge.
//
// Erase is an observed reset. Erasing a key removes it and resets its value with the value type's
// clear(): what this replica has seen of the value is gone, and a stale copy merged later does not
// bring it back; an update made concurrently elsewhere survives, and the key comes back with that
// update only. An update after an erase starts from an empty value: remove k, then add B2 to k's
// set gives {B2} on every replica. Akka's ORMap differs here: it drops the value locally, so the
// old contents come back from any replica that has not seen the remove ({B, B2}, "the danger of
// using remove+put" in its tests), or not, depending on the order of delivery.
//
// A reset value keeps its metadata, not its contents: the causal context of a set or an
// mv_register, what the reset took of each replica's count, the stamp of an lww_register. That is
// how it knows what it has seen, so an erased key costs that much (gc.hpp's info() counts these
// entries); dropping it as well would need a protocol in which every replica confirms the erase.
//
// put(k, v) adds v's contents to the value at k as new operations of this replica (the value
// type's absorb()): a set's elements with fresh dots, a counter's value added, a register written,
// a map's entries put. v's own dots are never imported: a value built on its own, even by a
// replica with the map's id, has dots that collide with those of the value at k, and merging them
// would lose elements (a map holding {a, b} at k, then put {c} built by a fresh orset of the same
// id, read {b}). So put never loses an element, of v or of the value at k, and unlike Akka's it is
// allowed over an existing value. To change a value in place use update(k, fn): fn sees the
// current value. Putting a value read from the map back with put re-adds it (a counter doubles).
//
// Value types: every type with an observed reset (clear) and absorb: orset, dvv_set,
// mv_register, lww_register, gcounter, pncounter, rga and ormap. gset and twop_set cannot forget
// an element, so they cannot be map values.
//
// Retired incarnations (retired.hpp): the map retires r in its key kernel and in every value,
// live or erased, that names r, all or nothing; origins() and the projection cover all of them.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "grove/crdt/crdt_traits.hpp"
#include "grove/crdt/dot_kernel.hpp"
#include "grove/crdt/escape.hpp"

namespace grove::crdt {

namespace detail {

template <class C, class = void>
struct is_map_value : std::false_type {};
template <class C>
struct is_map_value<
  C, std::void_t<decltype(std::declval<C&>().clear()), decltype(std::declval<C&>().absorb(std::declval<const C&>()))>>
    : std::true_type {};

}  // namespace detail

template <class K, class C>
class ormap {
  static_assert(detail::is_map_value<C>::value,
                "an ormap value type needs an observed reset, clear(), and absorb() (see ormap.hpp)");

public:
  explicit ormap(const replica_id& owner = {}) : owner_(owner) {}

  static std::string type_name() { return "grove.ormap<" + value_codec<K>::name() + "," + C::type_name() + ">"; }
  const replica_id& owner() const { return owner_.str(); }

  /// Applies `fn(C&)` to the value at `key` and makes the key live. A key that is not live (new,
  /// or erased) starts from an empty value. This is how values are changed: `fn` sees the current
  /// value, so e.g. an LWW write gets a stamp later than the one it replaces.
  template <class Fn>
  void update(const K& key, Fn fn) {
    C& value = begin_change(key);
    fn(value);
    end_change(key, value);
  }
  /// Adds `value`'s contents to the value at `key` as new operations of this replica (see the
  /// head of this file: elements re-added with fresh dots, counts added, registers written) and
  /// makes the key live. Never loses an element. Errors: those of C::absorb (too_large for a
  /// counter that would leave its range); nothing changes then.
  status put(const K& key, const C& value) {
    C& slot = begin_change(key);
    if (auto ok = slot.absorb(value); !ok) {
      record_reset(key, slot);  // a refusing absorb changed nothing, but begin_change may have reset
      return ok;
    }
    end_change(key, slot);
    return {};
  }
  /// Removes `key` as observed here and resets its value (an observed reset, see the head of this
  /// file); returns whether the key was live.
  bool erase(const K& key) {
    if (!keys_.remove(key, delta_keys_)) return false;
    if (auto it = values_.find(key); it != values_.end()) reset_value(key, it->second);
    return true;
  }
  /// Erases every key (an observed reset of the whole map).
  void clear() {
    for (auto& [key, value] : values_) reset_value(key, value);
    keys_.clear(delta_keys_);
  }
  /// Puts every live entry of `other` (ormap::put of a nested map). All or nothing: the errors of
  /// put, and nothing changes then. `other` may be *this.
  status absorb(const ormap& other) {
    auto entries = other.value();
    ormap changed = *this;
    for (const auto& [key, value] : entries)
      if (auto ok = changed.put(key, value); !ok) return ok;
    *this = std::move(changed);
    return {};
  }

  /// See retired.hpp. can_retire's errors: invalid_argument when `r` is the owner or its dots
  /// keep keys alive; the error of a value that names `r` (naming its key).
  std::vector<replica_id> origins() const {
    auto out = keys_.origins();
    for (const auto& [key, value] : values_) {
      auto more = value.origins();
      out.insert(out.end(), more.begin(), more.end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::uint64_t origin_digest(const replica_id& r) const { return origin_digest_of(*this, r); }
  bool write_origin_projection(byte_writer& w, const replica_id& r) const {
    bytes keys_part;
    bool keys_name_r = false;
    {
      byte_writer kw(keys_part);
      keys_name_r = keys_.write_origin_projection(kw, r, &value_codec<K>::write);
    }
    std::vector<std::pair<const K*, bytes>> named;
    for (const auto& [key, value] : values_)
      if (auto part = projection_of(value, r)) named.emplace_back(&key, std::move(*part));
    if (!keys_name_r && named.empty()) return false;
    w.str(keys_part);
    w.varint(named.size());
    for (const auto& [key, part] : named) {
      value_codec<K>::write(w, *key);
      w.str(part);
    }
    return true;
  }
  status can_retire(const replica_id& r) const {
    if (auto ok = check_not_owner(owner(), r); !ok) return ok;
    if (auto ok = keys_.can_retire(r); !ok) return ok;
    for (const auto& [key, value] : values_) {
      if (!projection_of(value, r)) continue;
      if (auto ok = value.can_retire(r); !ok)
        return error(ok.error().code(), "the value of " + describe(key) + ": " + ok.error().message());
    }
    return {};
  }
  status retire(const replica_id& r, std::uint64_t expires_at_ms) {
    if (auto ok = can_retire(r); !ok) return ok;
    keys_.retire(r, expires_at_ms, delta_keys_);
    for (auto& [key, value] : values_) {
      if (!projection_of(value, r)) continue;
      (void)value.retire(r, expires_at_ms);
      merge_value(delta_values_, key, value.delta());
      value.reset_delta();
    }
    return {};
  }
  void expire_retired(std::uint64_t now_ms) {
    keys_.expire_retired(now_ms);
    for (auto& [key, value] : values_) value.expire_retired(now_ms);
  }

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

  // The value at `key`, about to change; reset first if the key is not live (a key erased here,
  // or a hidden value that an encoding of format 1 kept with its contents). A stored value's own
  // delta is always empty.
  C& begin_change(const K& key) {
    C& value = slot(key);
    if (!keys_.contains(key)) value.clear();
    return value;
  }

  // Records the change of the value at `key` in the delta (always, so every replica that gets the
  // key also stores its value) and makes the key live.
  void end_change(const K& key, C& value) {
    merge_value(delta_values_, key, value.delta());
    value.reset_delta();
    keys_.add(key, owner_, delta_keys_);
  }

  void reset_value(const K& key, C& value) {
    value.clear();
    record_reset(key, value);
  }

  // Records a reset of the value at `key`, if it changed anything, in the delta.
  void record_reset(const K& key, C& value) {
    if (value.has_delta()) merge_value(delta_values_, key, value.delta());
    value.reset_delta();
  }

  // The projection of `value` on `r`, or nothing if it does not name `r`.
  static std::optional<bytes> projection_of(const C& value, const replica_id& r) {
    bytes out;
    bool names_r = false;
    {
      byte_writer w(out);
      names_r = value.write_origin_projection(w, r);
    }
    if (!names_r) return std::nullopt;
    return out;
  }

  static std::string describe(const K& key) {
    if constexpr (std::is_same_v<K, std::string>)
      return "key " + quote_input(key);
    else
      return "a key";
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
