// A replica's incarnation (the `@...` part of the owner of its dots) and the record that lets the
// next start reuse it. CAF-free.
//
// A replica that stops cleanly saves its final state and, in the same write, a marker naming its
// incarnation. Every dot of that incarnation is then in the store, so the next start may go on
// with it (it loads those dots and continues after them) instead of adding a new owner to the
// group's counters and causal contexts. The next start erases the marker, and waits until the
// erasure is on disk, before it makes a dot: after a crash there is no marker, and the replica
// takes a new incarnation, because its peers may hold dots of the old one that its store lacks.
#pragma once

#include <optional>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/storage/group_key.hpp"

namespace grove::actors::detail {

/// replica_id@ and 16 random hex digits.
std::string new_incarnation(const std::string& replica_id);

/// Where the marker of `group` is kept: kind "grove.incarnation" (kinds starting "grove." are
/// Grove's own; see group_key::is_internal) and a 128-bit hash of the group as name.
storage::group_key marker_key(const storage::group_key& group);

/// The marker's stored value: an lww_register<std::string> (so grove-inspect shows it) holding the
/// incarnation followed by the group, so a marker found under a colliding hash is not taken.
bytes encode_marker(const std::string& incarnation, const storage::group_key& group);

/// The incarnation a marker names if it belongs to `group` and to `replica_id`; nothing for a
/// marker that does not decode or belongs to another group or replica.
std::optional<std::string> incarnation_in_marker(bytes_view stored, const storage::group_key& group,
                                                 const std::string& replica_id);

}  // namespace grove::actors::detail
