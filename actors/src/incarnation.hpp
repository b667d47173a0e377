// A replica's identity and its per-group records in the store. CAF-free.
//
// Incarnation: every start of a replica takes a fresh one, "replica_id@" and 16 hex digits from
// the operating system's random source (64 bits), and owns every dot the replica makes in that
// run. A dot is therefore never issued twice, whatever happened to the store (a restore of an older
// copy, a copy started twice, a crash); the incarnations that went before are pruned once every
// replica of the group has seen all they made (replica_core.hpp, "Pruning").
//
// Records: beside its state, a replica keeps in the store the replica ids its group has had
// (kind "grove.replicas"; kinds starting "grove." are Grove's own, see group_key::is_internal),
// under a 128-bit hash of the group as name, so that consistency levels and pruning count a replica
// that is down even right after a restart.
#pragma once

#include <set>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/error.hpp"
#include "grove/storage/group_key.hpp"

namespace grove::actors::detail {

/// replica_id@ and 16 hex digits from getrandom(2).
std::string new_incarnation(const std::string& replica_id);

/// Where the replica ids of `group` are kept.
storage::group_key replicas_key(const storage::group_key& group);
/// Where versions before 3 kept the clean-stop marker of `group` (erased with the group).
storage::group_key legacy_marker_key(const storage::group_key& group);

/// The record's stored value: a gset<std::string> (so grove-inspect shows it).
bytes encode_replicas(const std::set<std::string>& ids);
expected<std::set<std::string>> decode_replicas(bytes_view stored);

}  // namespace grove::actors::detail
