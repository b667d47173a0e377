// The replication server (Grove.Replication.Server for CAF): one actor per (group, replica).
// Membership is in membership.hpp, node connections in network.hpp, stopping in shutdown.hpp. The
// messages replicas exchange are in protocol.hpp; the decisions are made by a CAF-free core
// (actors/src/replica/replica_core.hpp) that the actor feeds and whose effects it carries out.
//
// Replication server lifecycle:
//  1. start: join the group in membership; if a storage actor is set, load the group and merge it
//     (nothing else is handled until the load answered); send the full state to every peer.
//  2. mutate: typed operations (crdt::operation, from any actor, also remote; many of them one way
//     through a mutation_writer) or local functions (make_local_mutation<T>); `state` returns the
//     encoded state (decode it as T).
//  3. sync_interval after a change: send the accumulated delta to every peer, then reset it.
//     Subscribers get the new state at the same moment.
//  4. snapshot_interval after a change: save the full state.
//  5. on exit (exit message, system shutdown): a final snapshot and the clean-stop marker (see
//     "Replica identity") are sent to the storage actor; membership drops the replica when it is
//     gone (it monitors its members).
// All timers are delayed messages to itself: stopping the actor stops them. A timer is armed only
// when there is something to do (a change to send, save or check), so an idle replica handles no
// message and sends none.
//
// Durability (replication_options::durability):
//  - none: a mutation is acknowledged once it is applied in memory. It survives a crash of this
//    process only once a peer merged it or a snapshot saved it.
//  - log: a mutation is acknowledged once its delta is in the group's log in the storage actor:
//    on disk and synced when the store is durable (dets with durable = true), in the store's
//    write-behind buffer otherwise (on disk within auto_save). The mutations a replica receives
//    while an append is running go into the next one, and the storage actor commits the appends
//    of all groups that wait together, so concurrent writers share one sync. The delta goes to
//    the peers once the log has it. At restart the replica loads the snapshot and replays the log
//    after it, so every acknowledged mutation is back even with no peer alive. A snapshot drops
//    the log it covers in the same transaction, and a log that grows past max(max_log_bytes, the
//    size of the last snapshot) triggers a snapshot early. If an append fails, its requesters get
//    the error; the mutation stays applied here, spreads to the peers, and reaches the disk with
//    the next snapshot (as a write that timed out does in Akka).
//    Reads are served from memory, so a read may show a mutation whose append has not finished.
//
// Convergence: once messages flow again, every replica of a group reaches the same state, even if
// deltas were lost, a peer was down or partitioned, or a replica restarted from storage:
//  - deltas carry a per-sender sequence number; a receiver that sees a gap merges what it got and
//    asks the sender for the deltas from the gap on, which the sender resends from a bounded
//    buffer of its recent deltas (or, when they are no longer there, sends its full state);
//  - a peer that appears (join, node connection) gets the full state and is asked for its own;
//  - after a change, every digest_interval until two rounds pass without change, a replica sends
//    each peer a digest: how far it has merged the deltas of each current member (and of itself)
//    and, in a round after one without change, its state's checksum. The receiver resends the sender what the sender
//    lacks of its own deltas, asks for the sender's deltas it lacks, and only when both have merged exactly the same
//    deltas of every current member and still differ (a member that left before its last delta reached everyone),
//    exchanges full states.
// Full states travel in chunks of at most max_message_bytes, at most 4 of them unacknowledged per
// peer (the receiver acknowledges each), and a delta larger than that goes as a full state, so no
// message is unbounded and a big state does not pile up in a connection's buffers. Replica-to-replica messages are
// taken only from current members of the group (as membership announced them), peer_up/peer_down only from membership.
//
// Replica identity: the dots a replica creates carry `replica_id@incarnation`. A replica that stops
// cleanly (an exit message) writes its final state together with a marker naming its incarnation
// (group kind "grove.incarnation", see storage::group_key::is_internal); its next start reuses that
// incarnation, after erasing the marker and flushing the store, because every dot of it is in the
// state it loads. Any other start (first, after a crash, after a failed final write) takes a fresh
// incarnation, so a replica that restarts from an older snapshot never reuses a dot its peers have
// seen. The owners in a group's metadata are therefore one per replica id plus one per crash.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/fwd.hpp>

#include "grove/actors/atoms.hpp"
#include "grove/actors/crdt_slot.hpp"
#include "grove/actors/membership.hpp"
#include "grove/actors/metrics.hpp"
#include "grove/actors/node_event.hpp"
#include "grove/actors/protocol.hpp"
#include "grove/actors/replica_types.hpp"
#include "grove/actors/storage_actor.hpp"

namespace grove::crdt {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, operation& x) {
  return f(caf::meta::type_name("grove.operation"), x.name, x.args);
}

}  // namespace grove::crdt

namespace grove::actors {

// -- client messages -----------------------------------------------------------------------------
using mutate_atom = caf::atom_constant<caf::atom("grv_mutate")>;
using state_atom = caf::atom_constant<caf::atom("grv_state")>;
using size_atom = caf::atom_constant<caf::atom("grv_size")>;
using snapshot_atom = caf::atom_constant<caf::atom("grv_snap")>;
/// Sends the pending delta to the peers now (instead of at the next sync tick).
using broadcast_atom = caf::atom_constant<caf::atom("grv_bcast")>;
using add_subscriber_atom = caf::atom_constant<caf::atom("grv_sub")>;
using remove_subscriber_atom = caf::atom_constant<caf::atom("grv_unsub")>;
/// Sent to subscribers: (changed_atom, group as text, encoded state).
using changed_atom = caf::atom_constant<caf::atom("grv_change")>;
/// Reads with a consistency level (see read_result).
using read_atom = caf::atom_constant<caf::atom("grv_read")>;

/// From membership to a replica: its group was dropped everywhere; it erases its stored state
/// (snapshot and log) and stops, without a final snapshot.
using drop_atom = caf::atom_constant<caf::atom("grv_drop")>;
/// From membership to a replica: a peer of its group appeared / went away.
using peer_up_atom = caf::atom_constant<caf::atom("grv_pup")>;
using peer_down_atom = caf::atom_constant<caf::atom("grv_pdown")>;

/// Local only: a function cannot cross the network (CAF refuses to serialize it).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, local_mutation& x) {
  return f(caf::meta::type_name("grove.local_mutation"), x.type_name);
}

namespace detail {
class pending_mutations;
}

/// Local only: from a mutation_writer (mutation_writer.hpp) to its replica, which then takes every
/// operation waiting in the writer's queue. It points into this process, so it is not registered
/// with CAF and no other node can send it.
struct mutation_batch {
  std::shared_ptr<detail::pending_mutations> pending;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mutation_batch&) {
  return f(caf::meta::type_name("grove.mutation_batch"));
}

/// A replication server. Handles of replicas travel as strong_actor_ptr (a typed actor cannot
/// name itself); actor_cast them to replica_actor.
using replica_actor = caf::typed_actor<
  // Applies an operation; errors: invalid_argument for operations the type does not have. A request
  // is answered; a one-way message (send, anon_send) gets no answer back (with durability none).
  caf::replies_to<mutate_atom, crdt::operation>::with<done_atom>,
  // Applies a local function (same process only); errors: type_mismatch.
  caf::replies_to<mutate_atom, local_mutation>::with<done_atom>,
  // Applies the operations a mutation_writer queued, one by one (same process only).
  caf::reacts_to<mutate_atom, mutation_batch>,
  // Applies a batch (all or none; errors: invalid_argument naming the refused operation) and
  // answers once the level's replicas merged it; on timeout, errc::unavailable saying how many
  // did (the batch stays applied here and spreads later).
  caf::replies_to<mutate_atom, write_request>::with<replica_count>,
  // The encoded full state.
  caf::replies_to<state_atom>::with<bytes>,
  // How many elements, entries or items it holds, without encoding it; errors: invalid_argument
  // for counters and registers.
  caf::replies_to<size_atom>::with<std::uint64_t>,
  // Asks the level's replicas for their states, merges them (and keeps the merge) and answers
  // with it; on timeout, errc::unavailable saying how many answered.
  caf::replies_to<read_atom, consistency>::with<read_result>,
  // Sends the pending delta now.
  caf::replies_to<broadcast_atom>::with<done_atom>,
  // Saves the state now (answered when the storage actor has it; ok without storage).
  caf::replies_to<snapshot_atom>::with<done_atom>, caf::replies_to<stats_atom>::with<replica_stats>,
  caf::reacts_to<add_subscriber_atom, caf::actor>, caf::reacts_to<remove_subscriber_atom, caf::actor>,
  // Replica-to-replica protocol.
  caf::reacts_to<delta_message>, caf::reacts_to<state_chunk>, caf::reacts_to<chunk_ack>, caf::reacts_to<digest_message>,
  caf::reacts_to<state_request>, caf::reacts_to<deltas_request>, caf::reacts_to<delta_ack>,
  caf::reacts_to<read_request>, caf::reacts_to<retire_query>, caf::reacts_to<retire_answer>,
  // From membership (membership.hpp).
  caf::reacts_to<drop_atom, std::string>, caf::reacts_to<replicas_atom, std::string, std::vector<std::string>>,
  caf::reacts_to<peer_up_atom, std::string, caf::strong_actor_ptr>,
  caf::reacts_to<peer_down_atom, std::string, caf::actor_addr>>;

struct replication_options {
  /// This replica's id, unique in the group (required).
  std::string replica_id;
  /// The replication group (required; validated like a storage group).
  storage::group_key group;
  /// Delay from a change to the broadcast of its delta (deltas of changes meanwhile go along).
  std::chrono::milliseconds sync_interval{5000};
  std::chrono::milliseconds snapshot_interval{60000};
  /// Digest exchange period; zero means 4 x sync_interval.
  std::chrono::milliseconds digest_interval{0};
  /// Where snapshots go and the state comes from at start (optional).
  std::optional<storage_actor> storage;
  /// The node's membership actor (optional: without it the replica has no peers).
  std::optional<membership_actor> membership;
  /// Registers the replica in the actor system's registry under this name (at most 10
  /// characters of [A-Za-z0-9_]; optional).
  std::string name;
  /// When a mutation is acknowledged: none (applied in memory) or log (its delta is in the
  /// storage actor's log; needs `storage`).
  durability_mode durability = durability_mode::none;
  /// With a log: a log of more than max(max_log_bytes, the size of the last snapshot) bytes is
  /// compacted by a snapshot at once, without waiting for snapshot_interval.
  std::size_t max_log_bytes = std::size_t{1} << 20;
  /// Largest replication message payload; bigger states go in chunks.
  std::size_t max_message_bytes = 256 * 1024;
  /// Test hook: drop this fraction of broadcast deltas (seeded by drop_seed); resent ones go out.
  double drop_deltas = 0.0;
  std::uint64_t drop_seed = 1;
  /// Where the replica counts what it does for the node's metrics (optional; node.hpp sets it).
  std::shared_ptr<node_metrics> metrics;
  /// Gets a node_event (kind progress) for each tenth of a large full state this replica sends or
  /// receives (optional; node.hpp sets it to the node's event hub).
  caf::actor events;
};

/// Spawns a replication server whose value `make_slot` creates. Errors (invalid_argument) for
/// invalid options: empty replica id, invalid group, zero intervals, a tiny message size, a bad
/// name, a drop fraction outside [0, 1], durability log without storage, a zero max_log_bytes.
expected<replica_actor> spawn_replica(caf::actor_system& sys, replication_options opts, slot_factory make_slot);

/// Spawns a replication server for CRDT type T.
template <class T>
expected<replica_actor> spawn_replica(caf::actor_system& sys, replication_options opts) {
  return spawn_replica(sys, std::move(opts), [](const std::string& owner) -> std::unique_ptr<crdt_slot> {
    return std::make_unique<typed_slot<T>>(owner);
  });
}

}  // namespace grove::actors
