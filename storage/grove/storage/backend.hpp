// The storage behaviour (Grove.Storage): init, save, load, delete, list_groups, close, as a C++
// interface, plus a per-group delta log (append, read, truncate) that Grove does not have. A
// backend stores, for each group, a snapshot (the full encoded state) and a log of encoded deltas
// made after it; the group's value is the snapshot merged with every entry of its log.
//
// Contracts every backend keeps (checked by test/storage/contract_cases.hpp for each of them):
//  - init (the backend's `open` function) fails with a clear error for bad options, never crashes;
//  - write: one transaction, all of its operations or (with an error) none, applied in order; when
//    it returns success, the backend's durability promise holds (see each backend);
//    a value or delta larger than the backend's max_value_size is errc::too_large and stores nothing;
//  - load of a group without a snapshot (never saved, or erased) is an empty optional, not an error;
//    read_log of a group without entries is an empty vector;
//  - erase of a missing group succeeds; erase drops the snapshot and the whole log;
//  - list_groups returns every group with a snapshot or a log entry, sorted by (kind, name);
//  - close is idempotent; every call after it fails with errc::closed;
//  - a group that fails validate() is errc::invalid_argument, and so is a log entry numbered 0.
// Backends are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

/// One entry of a group's log: an encoded delta and its number. The writer numbers the entries of
/// a group (1, 2, ...); read_log returns them by number.
struct log_entry {
  std::uint64_t seq = 0;
  bytes delta;
};

/// A group as a backend holds it: its snapshot (none when it has none) and its log entries after
/// the snapshot, by number. Its value is the snapshot merged with every entry.
struct stored_group {
  std::optional<bytes> snapshot;
  std::vector<log_entry> log;
};

/// One operation of a write transaction.
struct write_op {
  enum class kind : std::uint8_t {
    save,      // `value` becomes the snapshot of `key`
    append,    // `value` is log entry `seq` of `key` (an entry with the same number is replaced)
    truncate,  // drops the log entries of `key` numbered up to `seq`
    erase,     // drops the snapshot and the whole log of `key`
  };
  kind what = kind::save;
  group_key key;
  bytes value;
  std::uint64_t seq = 0;

  static write_op save(group_key g, bytes state) { return {kind::save, std::move(g), std::move(state), 0}; }
  static write_op append(group_key g, std::uint64_t seq, bytes delta) {
    return {kind::append, std::move(g), std::move(delta), seq};
  }
  static write_op truncate(group_key g, std::uint64_t through) { return {kind::truncate, std::move(g), {}, through}; }
  static write_op erase(group_key g) { return {kind::erase, std::move(g), {}, 0}; }
};

class backend {
public:
  virtual ~backend() = default;

  /// Applies `ops` in order in one transaction: all of them, or with an error none. The storage
  /// actor's group commit sends the operations of many requests as one write. A snapshot that
  /// covers the log up to entry N is {save, truncate N}: on disk together or not at all.
  virtual status write(const std::vector<write_op>& ops) = 0;
  /// The snapshot of `g`, or an empty optional when it has none (its log may still have entries).
  virtual expected<std::optional<bytes>> load(const group_key& g) = 0;
  /// The log entries of `g`, by number (empty when there are none).
  virtual expected<std::vector<log_entry>> read_log(const group_key& g) = 0;
  /// The snapshot and the log of `g` in one call: what load and read_log give, which this default
  /// calls one after the other; a backend may read both at once (one lock, one lookup).
  virtual expected<stored_group> load_group(const group_key& g) {
    auto snapshot = load(g);
    if (!snapshot) return snapshot.error();
    auto log = read_log(g);
    if (!log) return log.error();
    return stored_group{std::move(*snapshot), std::move(*log)};
  }
  /// Every group with a snapshot or a log entry, sorted.
  virtual expected<std::vector<group_key>> list_groups() = 0;
  /// Makes every successful write so far durable now (a no-op where there is no disk).
  virtual status sync() = 0;
  /// Flushes and releases the backend; idempotent. Later calls fail with errc::closed.
  virtual status close() = 0;
  /// A short description for logs, e.g. "dets:/var/lib/app/crdts.grove#grove_dets_storage".
  virtual std::string describe() const = 0;
  /// Whether a call may wait for a disk or another process. The storage actor runs a backend that
  /// may on a thread of its own, so the wait never holds one of CAF's scheduler threads; one that
  /// never waits (memory only) runs on the scheduler, where a request costs no thread switch.
  /// True unless a backend knows better.
  virtual bool may_block() const { return true; }

  /// Stores `value` as the snapshot of `g`, replacing what was there (the log stays): the same as
  /// write({write_op::save(g, value)}), which is what this default does; a backend may do it
  /// without building the operation.
  virtual status save(const group_key& g, bytes_view value) { return write({write_op::save(g, bytes(value))}); }
  /// Stores every entry in one transaction: all or nothing. Later entries for the same group win.
  status save_batch(const std::vector<group_value>& entries) {
    std::vector<write_op> ops;
    ops.reserve(entries.size());
    for (const auto& e : entries) ops.push_back(write_op::save(e.key, e.value));
    return write(ops);
  }
  /// Appends entry `seq` (> 0) to the log of `g`.
  status append(const group_key& g, std::uint64_t seq, bytes_view delta) {
    return write({write_op::append(g, seq, bytes(delta))});
  }
  /// Drops the log entries of `g` numbered up to `through`.
  status truncate_log(const group_key& g, std::uint64_t through) { return write({write_op::truncate(g, through)}); }
  /// Removes `g`, snapshot and log (Grove's delete); succeeds when `g` is not stored.
  status erase(const group_key& g) { return write({write_op::erase(g)}); }
};

/// Encodes `x` with the codec and saves it under `g`.
template <class T>
status save(backend& b, const group_key& g, const T& x, const crdt::codec_options& opts = {}) {
  return b.save(g, crdt::encode(x, opts));
}

/// Loads `g` and decodes it as a T owned by `owner`: the snapshot merged with every log entry.
/// Empty when the group has neither. A value of another CRDT type is errc::type_mismatch naming
/// both types; a damaged snapshot or log entry is an error naming the group (and the entry).
template <class T>
expected<std::optional<T>> load(backend& b, const group_key& g, const crdt::replica_id& owner = {},
                                const crdt::codec_options& opts = {}) {
  auto stored = b.load_group(g);
  if (!stored) return stored.error();
  if (!stored->snapshot && stored->log.empty()) return std::optional<T>{};
  T value(owner);
  if (stored->snapshot) {
    auto x = crdt::decode<T>(*stored->snapshot, owner, opts);
    if (!x) return error(x.error().code(), "group " + g.to_string() + ": " + x.error().message());
    value = std::move(*x);
  }
  for (const auto& entry : stored->log) {
    auto d = crdt::decode<T>(entry.delta, owner, opts);
    if (!d)
      return error(d.error().code(),
                   "group " + g.to_string() + ", log entry " + std::to_string(entry.seq) + ": " + d.error().message());
    value.merge(*d);
  }
  return std::optional<T>{std::move(value)};
}

}  // namespace grove::storage
