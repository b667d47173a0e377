// group_key: the key of the storage behaviour, Grove's "group" (like `{:counter, "views"}`): a kind and a
// name. (Named group_key so that it is never read as caf::group, CAF's publish/subscribe group.)
#pragma once

#include <string>
#include <string_view>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/error.hpp"

namespace grove::storage {

struct group_key {
  std::string kind;  // 1..64 bytes of [A-Za-z0-9_.-]
  std::string name;  // 1..max_name_size bytes, any bytes

  static constexpr std::size_t max_kind_size = 64;
  static constexpr std::size_t max_name_size = 400;  // keeps encoded keys under LMDB's 511 bytes

  /// Kinds that start with "grove." are Grove's own records (a replica's clean-stop marker, see
  /// grove/actors/replica.hpp), kept in the same store as the groups; they are no CRDT groups.
  bool is_internal() const { return kind.rfind("grove.", 0) == 0; }

  /// Checks the limits above; errc::invalid_argument naming what is wrong.
  status validate() const;

  /// Canonical bytes: kind length (one byte), kind, name. Length-prefixed, so no two groups share
  /// an encoding (unlike "kind:name").
  bytes encode() const;
  /// Inverse of encode(); errc::malformed for bytes that no group encodes to.
  static expected<group_key> decode(bytes_view in);

  /// "kind:name" with the name escaped as escape_bytes does (grove/crdt/escape.hpp): valid UTF-8
  /// stays, a backslash is "\\", other bytes are "\xHH". parse(to_string()) gives the group back.
  std::string to_string() const;
  /// Parses "kind:name" (the kind ends at the first ':'; the name is unescaped), then validates.
  /// Errors: invalid_argument (no ':', a bad escape, limits; the input is quoted, at most 64 bytes).
  static expected<group_key> parse(std::string_view text);

  friend bool operator==(const group_key& a, const group_key& b) { return a.kind == b.kind && a.name == b.name; }
  friend bool operator!=(const group_key& a, const group_key& b) { return !(a == b); }
  friend bool operator<(const group_key& a, const group_key& b) {
    return a.kind < b.kind || (a.kind == b.kind && a.name < b.name);
  }
};

}  // namespace grove::storage
