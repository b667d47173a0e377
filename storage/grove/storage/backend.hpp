// The storage behaviour (Grove.Storage): init, save, load, delete, list_groups, close, as a C++
// interface. A backend stores the full encoded state of each group.
//
// Contracts every backend keeps (checked by test/storage/contract_test.cpp for each of them):
//  - init (the backend's `open` function) fails with a clear error for bad options, never crashes;
//  - save: when it returns success, the backend's durability promise holds (see each backend);
//    a value larger than the backend's max_value_size is errc::too_large and stores nothing;
//  - load of a group never saved (or erased) is an empty optional, not an error;
//  - erase of a missing group succeeds;
//  - list_groups returns every stored group, sorted by (kind, name);
//  - close is idempotent; every call after it fails with errc::closed;
//  - a group that fails validate() is errc::invalid_argument.
// Backends are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grove/crdt/codec.hpp"
#include "grove/crdt/error.hpp"
#include "grove/storage/group_key.hpp"

namespace grove::storage {

/// One entry of a save_batch.
struct group_value {
  group_key key;
  bytes value;
};

class backend {
public:
  virtual ~backend() = default;

  /// Stores `value` as the state of `g`, replacing what was there.
  virtual status save(const group_key& g, bytes_view value) = 0;
  /// Stores every entry in one transaction: all or nothing. Used by the storage actor for group
  /// commit. Later entries for the same group win.
  virtual status save_batch(const std::vector<group_value>& entries) = 0;
  /// The state of `g`, or an empty optional when nothing is stored.
  virtual expected<std::optional<bytes>> load(const group_key& g) = 0;
  /// Removes `g` (Grove's delete); succeeds when `g` is not stored.
  virtual status erase(const group_key& g) = 0;
  /// Every stored group, sorted.
  virtual expected<std::vector<group_key>> list_groups() = 0;
  /// Makes every successful save so far durable now (a no-op where there is no disk).
  virtual status sync() = 0;
  /// Flushes and releases the backend; idempotent. Later calls fail with errc::closed.
  virtual status close() = 0;
  /// A short description for logs, e.g. "dets:/var/lib/app/crdts.grove#grove_dets_storage".
  virtual std::string describe() const = 0;
};

/// Encodes `x` with the codec and saves it under `g`.
template <class T>
status save(backend& b, const group_key& g, const T& x, const crdt::codec_options& opts = {}) {
  return b.save(g, crdt::encode(x, opts));
}

/// Loads `g` and decodes it as a T owned by `owner`. A value of another CRDT type is
/// errc::type_mismatch naming both types; a damaged value is an error naming the group.
template <class T>
expected<std::optional<T>> load(backend& b, const group_key& g, const crdt::replica_id& owner = {},
                                const crdt::codec_options& opts = {}) {
  auto stored = b.load(g);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<T>{};
  auto x = crdt::decode<T>(**stored, owner, opts);
  if (!x) return error(x.error().code(), "group " + g.to_string() + ": " + x.error().message());
  return std::optional<T>{std::move(*x)};
}

}  // namespace grove::storage
