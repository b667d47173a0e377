// The membership actor of a node (Grove.Cluster.Membership, the :pg analogue): which replicas
// belong to which group, on this node and on every connected node. Replicas join and leave; other
// nodes' membership actors exchange their members (after a version probe, and the cluster-secret
// handshake when there is a secret); a replica learns of its peers from here (peer_up/peer_down,
// see replica.hpp). The node-to-node messages are documented in protocol.hpp; the decisions are
// made by a CAF-free core (actors/src/membership/membership_core.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "grove/actors/atoms.hpp"
#include "grove/actors/metrics.hpp"
#include "grove/actors/protocol.hpp"
#include "grove/actors/storage_actor.hpp"

namespace grove::actors {

// -- messages from local callers ------------------------------------------------------------------
using join_group_atom = caf::atom_constant<caf::atom("grv_join")>;
using leave_group_atom = caf::atom_constant<caf::atom("grv_leave")>;
using members_atom = caf::atom_constant<caf::atom("grv_membrs")>;
using peers_atom = caf::atom_constant<caf::atom("grv_peers")>;
using groups_atom = caf::atom_constant<caf::atom("grv_groups")>;
using nodes_atom = caf::atom_constant<caf::atom("grv_nodes")>;
using connect_node_atom = caf::atom_constant<caf::atom("grv_conn")>;
using advertise_atom = caf::atom_constant<caf::atom("grv_advert")>;
using addresses_atom = caf::atom_constant<caf::atom("grv_addrs")>;
using watch_nodes_atom = caf::atom_constant<caf::atom("grv_watch")>;
/// Sent to watchers: (node_event_atom, "up" or "down", the node's address or, if it has none, id),
/// (node_event_atom, "group", the group as text) when a member of a group that has no member on
/// this node appears on another node (so a node can host every group of the cluster), and
/// (node_event_atom, "dropped", the group).
using node_event_atom = caf::atom_constant<caf::atom("grv_nodeev")>;
using drop_group_atom = caf::atom_constant<caf::atom("grv_dropg")>;
using dropped_atom = caf::atom_constant<caf::atom("grv_isdrop")>;
using replicas_atom = caf::atom_constant<caf::atom("grv_repls")>;
/// From a local replica: its digest, for the nodes named (those of them that host its group).
using relay_digest_atom = caf::atom_constant<caf::atom("grv_rdig")>;
/// From a local replica: a replica of another node sent it a message but is no peer of it.
using stranger_atom = caf::atom_constant<caf::atom("grv_strgr")>;

// -- node-to-node messages (protocol.hpp), with CAF handles -----------------------------------------
using member_entry = basic_member_entry<caf::strong_actor_ptr>;
using hello_message = basic_hello<caf::strong_actor_ptr, caf::actor>;
using member_change_message = basic_member_change<caf::strong_actor_ptr>;
using relayed_digest = basic_relayed_digest<caf::strong_actor_ptr>;
using node_unreachable_message = basic_node_unreachable<caf::actor>;

/// What a membership actor counts.
struct membership_stats {
  std::uint64_t digests_relayed = 0;  // replicas' digests it passed to other nodes (one per node)
  std::uint64_t digest_messages = 0;  // messages that carried them
  std::uint64_t digests_refused = 0;  // relayed digests of replicas that are no member there
  std::uint64_t refused = 0;          // node messages refused (another version, untrusted, spoken for others)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_stats& x) {
  return f(caf::meta::type_name("grove.membership_stats"), x.digests_relayed, x.digest_messages, x.digests_refused,
           x.refused);
}

/// The membership actor of one actor system (Grove.Cluster.Membership, the :pg analogue).
/// Membership handles travel as caf::actor (a typed actor cannot name itself). Local callers (and
/// trusted nodes) use the first part; the second is the node-to-node protocol.
using membership_actor = caf::typed_actor<
  // Adds a replica (with its replica id) to a group; answers with the group's other members.
  // Errors: not_found for a dropped group, too_large past max_members_per_group on this node.
  caf::replies_to<join_group_atom, std::string, caf::strong_actor_ptr,
                  std::string>::with<std::vector<caf::strong_actor_ptr>>,
  caf::replies_to<leave_group_atom, std::string, caf::strong_actor_ptr>::with<done_atom>,
  // All members of a group, on every connected node.
  caf::replies_to<members_atom, std::string>::with<std::vector<caf::strong_actor_ptr>>,
  // Members of a group except the given one.
  caf::replies_to<peers_atom, std::string, caf::strong_actor_ptr>::with<std::vector<caf::strong_actor_ptr>>,
  // The replica ids a group has on this node and on every connected node.
  caf::replies_to<replicas_atom, std::string>::with<std::vector<std::string>>,
  // Groups that have members.
  caf::replies_to<groups_atom>::with<std::vector<std::string>>,
  // Number of other nodes connected.
  caf::replies_to<nodes_atom>::with<std::uint64_t>,
  // Connects to the node listening on host:port (see connect()), and remembers the address: after
  // a failure, and whenever the connection drops later, it tries again with backoff.
  caf::replies_to<connect_node_atom, std::string, std::uint16_t>::with<done_atom>,
  // The address this node listens on, as other nodes should dial it (listen() sends it).
  caf::reacts_to<advertise_atom, std::string, std::uint16_t>,
  // Every node address known: (connected ones, unreachable ones that are being retried).
  caf::replies_to<addresses_atom>::with<std::vector<std::string>, std::vector<std::string>>,
  // Sends node_event_atom messages to the given actor from now on (until it is gone).
  caf::reacts_to<watch_nodes_atom, caf::actor>,
  // Drops a group everywhere: its replicas on this node erase their stored state and stop, every
  // connected node is told to do the same (and tells the nodes it connects to later), and watchers
  // get (node_event_atom, "dropped", group). A tombstone keeps the group dropped for
  // membership_options::tombstone_lifetime: a replica of it that joins here, or on a node that
  // comes back, is dropped too. Answered once this node's replicas were told.
  caf::replies_to<drop_group_atom, std::string>::with<done_atom>,
  // Whether a group is dropped (its tombstone still lives).
  caf::replies_to<dropped_atom, std::string>::with<bool>,
  // A local replica's anti-entropy digest for its group's replicas on the nodes named (taken there
  // with the node's other digests of the round; refused from another node).
  caf::reacts_to<relay_digest_atom, digest_message, std::vector<caf::node_id>>,
  // A local replica of the group refused a message of that replica, which is no member of the group
  // here: when membership does not list it either (its announcement was lost), its node is greeted
  // again (once a liveness tick at most), and the answer lists the node's members.
  caf::reacts_to<stranger_atom, std::string, caf::strong_actor_ptr>,
  caf::replies_to<stats_atom>::with<membership_stats>,
  // Node-to-node protocol (protocol.hpp).
  caf::reacts_to<version_probe>, caf::reacts_to<auth_hello>, caf::reacts_to<auth_challenge>, caf::reacts_to<auth_proof>,
  caf::reacts_to<hello_message>, caf::reacts_to<member_change_message>, caf::reacts_to<std::vector<tombstone>>,
  caf::reacts_to<std::vector<relayed_digest>>, caf::reacts_to<liveness_probe>, caf::reacts_to<liveness_ack>,
  caf::reacts_to<node_unreachable_message>>;

/// Options of a node's membership actor.
struct membership_options {
  /// The cluster secret (like Erlang's cookie); empty: none. When set, another node is trusted
  /// only after both sides proved they know it (HMAC-SHA256 over fresh nonces from each side; the
  /// secret never crosses the wire). Until then its membership messages are ignored, so it
  /// learns no replica and none of its replicas joins a group here. A node that fails the check is
  /// logged on stderr ("[grove] membership: ... refused") and dropped.
  std::string secret;
  /// This node's name in logs and hellos (default: CAF's node id).
  std::string name;
  /// Whether this node hosts every group of the cluster (grove-node does unless --on-demand).
  bool hosts_every_group = false;
  /// How long a dropped group stays dropped (its tombstone lives). A node that comes back later
  /// with the group in its store brings it back, as if it had been made again.
  std::chrono::milliseconds tombstone_lifetime = std::chrono::hours(24);
  /// Where tombstones are kept, so that a drop survives restarts (optional: without it they live
  /// in memory only). Membership loads them before it takes any other message.
  std::optional<storage_actor> storage;
  /// Most tombstones a node keeps; beyond, the one that expires first goes early.
  std::size_t max_tombstones = 100'000;
  /// Where membership counts connected nodes and refused node messages for the node's metrics
  /// (optional; node.hpp sets it).
  std::shared_ptr<node_metrics> metrics;
};

/// Spawns the membership actor of an actor system.
membership_actor spawn_membership(caf::actor_system& sys, membership_options opts = {});

}  // namespace grove::actors
