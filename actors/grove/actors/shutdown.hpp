// Stopping a node's Grove actors without losing what they hold.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "grove/actors/replica.hpp"
#include "grove/actors/storage_actor.hpp"

namespace grove::actors {

/// Stops the given replicas, then the storage actor and membership, in the only order that keeps
/// every replica's last state:
///  1. each replica saves a snapshot (answered once the storage actor has committed it);
///  2. the replicas get an exit message (a change that arrived after step 1 goes out as their
///     final snapshot) and this call waits until they are gone;
///  3. the storage actor is asked to sync, which it answers only after it has committed what the
///     replicas sent before they went (messages from one sender arrive in order, and the replicas
///     are gone before the sync is sent);
///  4. the storage actor and membership get an exit message, and this call waits for them.
/// Sending exit messages in that order instead is not enough: the storage actor can handle its exit
/// before the final snapshots that are still in its mailbox.
///
/// Afterwards drop every handle to these actors (also the copies in replication_options) before
/// the actor system is destroyed: see spawn_storage_actor. Every step runs even when an earlier
/// one failed. Errors: the first failure (a snapshot or the sync the storage actor refused,
/// unavailable for an actor that did not answer or stop within `timeout`).
status stop_node(caf::actor_system& sys, const std::vector<replica_actor>& replicas,
                 const std::optional<storage_actor>& storage, const std::optional<membership_actor>& membership,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace grove::actors
