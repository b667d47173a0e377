// crdt_slot: a CRDT value of some type behind a type-free interface, so the replication server's
// actor code is written once (in replication_server.cpp) for every CRDT type. CAF-free.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "grove/crdt/codec.hpp"
#include "grove/crdt/operation.hpp"

namespace grove::actors {

/// A mutation given as a function, for callers in the same process (it cannot cross the
/// network). Made by make_local_mutation<T>; applied only to a replica of type T.
struct local_mutation {
  std::string type_name;
  std::function<status(void*)> apply;
};

/// `f(T&)` as a local mutation; f may return void or grove::status.
template <class T, class F>
local_mutation make_local_mutation(F f) {
  return local_mutation{T::type_name(), [f = std::move(f)](void* x) mutable -> status {
                          if constexpr (std::is_same_v<decltype(f(*static_cast<T*>(x))), status>) {
                            return f(*static_cast<T*>(x));
                          } else {
                            f(*static_cast<T*>(x));
                            return {};
                          }
                        }};
}

class crdt_slot {
public:
  virtual ~crdt_slot() = default;
  virtual std::string type_name() const = 0;
  /// Applies an operation (errc::invalid_argument when the type has no such operation).
  virtual status apply(const crdt::operation& op) = 0;
  /// Applies the operations in order, all of them or, when one is refused, none (its error,
  /// naming which operation of the batch it was).
  virtual status apply(const std::vector<crdt::operation>& ops) = 0;
  /// Applies a local mutation (errc::type_mismatch when it was made for another type).
  virtual status apply(const local_mutation& m) = 0;
  /// Decodes an encoded state or delta of this type and merges it.
  virtual status merge(bytes_view encoded) = 0;
  /// The encoded full state.
  virtual bytes state() const = 0;
  virtual bool has_delta() const = 0;
  /// How many elements, entries or items the value holds, for types that hold some (sets, maps,
  /// lists); nothing for counters and registers.
  virtual std::optional<std::uint64_t> size() const = 0;
  /// The encoded delta since the last call; resets it.
  virtual bytes take_delta() = 0;

  // Retired incarnations, as grove/crdt/retired.hpp describes them for every CRDT type.

  /// Every actor (incarnation) the state's metadata names, sorted, without retired ones.
  virtual std::vector<crdt::replica_id> origins() const = 0;
  /// xxh3-64 of the projection of the state on `r` (everything in it that names r): equal
  /// projections give equal digests in every process.
  virtual std::uint64_t origin_digest(const crdt::replica_id& r) const = 0;
  /// Prunes `r` (not the owner): counters fold its count into the owner's, dot-based states move
  /// its context entry into a retired marker that expires at `expires_at_ms`. The effect goes into
  /// the delta. Call it on one replica only, once every replica has the same origin_digest(r).
  /// Errors (nothing changes): invalid_argument when `r` is the owner, when its dots still keep
  /// entries alive, or for an rga that holds elements inserted by `r`; too_large when a counter
  /// cannot take the folded count.
  virtual status retire(const crdt::replica_id& r, std::uint64_t expires_at_ms) = 0;
  /// Drops the retired markers whose expiry is at or before `now_ms`; data of those incarnations
  /// that arrives later is no longer recognised (see retired.hpp).
  virtual void expire_retired(std::uint64_t now_ms) = 0;
};

template <class T, class = void>
struct has_size : std::false_type {};
template <class T>
struct has_size<T, std::void_t<decltype(std::declval<const T&>().size())>> : std::true_type {};

template <class T, class = void>
struct has_apply_operation : std::false_type {};
template <class T>
struct has_apply_operation<
  T, std::void_t<decltype(crdt::apply_operation(std::declval<T&>(), std::declval<const crdt::operation&>()))>>
    : std::true_type {};

template <class T>
class typed_slot final : public crdt_slot {
public:
  explicit typed_slot(const crdt::replica_id& owner) : value_(owner), owner_(owner) {}

  std::string type_name() const override { return T::type_name(); }

  status apply(const crdt::operation& op) override {
    if constexpr (has_apply_operation<T>::value)
      return crdt::apply_operation(value_, op);
    else
      return error(errc::invalid_argument, T::type_name() + " takes no operations; mutate it with a local function");
  }

  status apply(const std::vector<crdt::operation>& ops) override {
    if constexpr (!has_apply_operation<T>::value) {
      return error(errc::invalid_argument, T::type_name() + " takes no operations; mutate it with a local function");
    } else if constexpr (crdt::refusal_depends_on_value<T>) {
      // Applied to a copy that replaces the value only if every operation was taken (for counters
      // the copy is a few entries; for a list it costs its size).
      T scratch = value_;
      if (auto ok = apply_all(scratch, ops); !ok) return ok;
      value_ = std::move(scratch);
      return {};
    } else {
      // Refusals depend only on the operations: checked on an empty value, then applied.
      T scratch(owner_);
      if (auto ok = apply_all(scratch, ops); !ok) return ok;
      for (const auto& op : ops) (void)crdt::apply_operation(value_, op);
      return {};
    }
  }

  status apply(const local_mutation& m) override {
    if (m.type_name != T::type_name())
      return error(errc::type_mismatch, "a mutation for " + m.type_name + " sent to a replica of " + T::type_name());
    return m.apply(&value_);
  }

  status merge(bytes_view encoded) override {
    auto other = crdt::decode<T>(encoded, owner_);
    if (!other) return other.error();
    value_.merge(*other);
    return {};
  }

  bytes state() const override { return crdt::encode(value_); }
  bool has_delta() const override { return value_.has_delta(); }
  std::optional<std::uint64_t> size() const override {
    if constexpr (has_size<T>::value)
      return static_cast<std::uint64_t>(value_.size());
    else
      return std::nullopt;
  }
  bytes take_delta() override {
    auto out = crdt::encode(value_.delta());
    value_.reset_delta();
    return out;
  }

  /// The value (for checks that know the type, such as the simulator's).
  const T& value() const { return value_; }

  std::vector<crdt::replica_id> origins() const override { return value_.origins(); }
  std::uint64_t origin_digest(const crdt::replica_id& r) const override { return value_.origin_digest(r); }
  status retire(const crdt::replica_id& r, std::uint64_t expires_at_ms) override {
    return value_.retire(r, expires_at_ms);
  }
  void expire_retired(std::uint64_t now_ms) override { value_.expire_retired(now_ms); }

private:
  static status apply_all(T& x, const std::vector<crdt::operation>& ops) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      auto ok = crdt::apply_operation(x, ops[i]);
      if (ok) continue;
      if (ops.size() == 1) return ok;
      return error(ok.error().code(), "operation " + std::to_string(i + 1) + " of " + std::to_string(ops.size())
                                        + " refused, none applied: " + ok.error().message());
    }
    return {};
  }

  T value_;
  crdt::replica_id owner_;
};

/// Makes the value a replica works on, owned by the given replica_id@incarnation.
using slot_factory = std::function<std::unique_ptr<crdt_slot>(const std::string& owner)>;

}  // namespace grove::actors
