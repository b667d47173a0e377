// The membership actor of a node (Grove.Cluster.Membership, the :pg analogue): which replicas
// belong to which group, on this node and on every connected node. Replicas join and leave; other
// nodes' membership actors exchange their members (after the cluster-secret handshake when there
// is a secret); a replica learns of its peers from here (peer_up/peer_down, see replica.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "grove/actors/atoms.hpp"
#include "grove/actors/digest.hpp"

namespace grove::actors {

// -- membership messages -------------------------------------------------------------------------
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
/// and (node_event_atom, "group", the group as text) when a member of a group that has no member
/// on this node appears on another node (so a node can host every group of the cluster).
using node_event_atom = caf::atom_constant<caf::atom("grv_nodeev")>;
using hello_atom = caf::atom_constant<caf::atom("grv_hello")>;
using hello_ack_atom = caf::atom_constant<caf::atom("grv_hellok")>;
using member_up_atom = caf::atom_constant<caf::atom("grv_mup")>;
using member_down_atom = caf::atom_constant<caf::atom("grv_mdown")>;
// Cluster-secret handshake between membership actors (challenge and HMAC; see membership_options).
using auth_hello_atom = caf::atom_constant<caf::atom("grv_auth1")>;
using auth_challenge_atom = caf::atom_constant<caf::atom("grv_auth2")>;
using auth_proof_atom = caf::atom_constant<caf::atom("grv_auth3")>;
// Dropping groups everywhere.
using drop_group_atom = caf::atom_constant<caf::atom("grv_dropg")>;
using dropped_atom = caf::atom_constant<caf::atom("grv_isdrop")>;
using tombstones_atom = caf::atom_constant<caf::atom("grv_tombs")>;
// Anti-entropy per pair of nodes: a replica hands its digest to membership, which sends the
// digests of all groups it got in a round to each other node as one message (chunked).
using relay_digest_atom = caf::atom_constant<caf::atom("grv_rdig")>;
using digests_atom = caf::atom_constant<caf::atom("grv_digs")>;

/// A member of a group, as membership actors tell each other.
struct member_entry {
  std::string group;
  caf::strong_actor_ptr replica;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_entry& x) {
  return f(caf::meta::type_name("grove.member"), x.group, x.replica);
}

/// A dropped group, as membership actors tell each other, and how long its record still lives.
struct tombstone {
  std::string group;
  std::uint64_t remaining_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tombstone& x) {
  return f(caf::meta::type_name("grove.tombstone"), x.group, x.remaining_ms);
}

/// A replica's digest as one membership actor passes it to another: the replica and its digest
/// (the receiving side hands it to its members of the group as if the replica had sent it).
struct relayed_digest {
  caf::strong_actor_ptr from;
  digest_message digest;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relayed_digest& x) {
  return f(caf::meta::type_name("grove.relayed_digest"), x.from, x.digest);
}

/// What a membership actor counts.
struct membership_stats {
  std::uint64_t digests_relayed = 0;  // replicas' digests it passed to other nodes (one per node)
  std::uint64_t digest_messages = 0;  // messages that carried them
  std::uint64_t digests_refused = 0;  // relayed digests of replicas that are no member there
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_stats& x) {
  return f(caf::meta::type_name("grove.membership_stats"), x.digests_relayed, x.digest_messages, x.digests_refused);
}
/// The membership actor of one actor system (Grove.Cluster.Membership, the :pg analogue).
/// Membership handles travel as caf::actor (a typed actor cannot name itself).
using membership_actor = caf::typed_actor<
  // Adds a replica to a group; answers with the group's other members.
  caf::replies_to<join_group_atom, std::string, caf::strong_actor_ptr>::with<std::vector<caf::strong_actor_ptr>>,
  caf::replies_to<leave_group_atom, std::string, caf::strong_actor_ptr>::with<done_atom>,
  // All members of a group, on every connected node.
  caf::replies_to<members_atom, std::string>::with<std::vector<caf::strong_actor_ptr>>,
  // Members of a group except the given one.
  caf::replies_to<peers_atom, std::string, caf::strong_actor_ptr>::with<std::vector<caf::strong_actor_ptr>>,
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
  // Node to node: groups dropped and how long their tombstones still live.
  caf::reacts_to<tombstones_atom, std::vector<tombstone>>,
  // From a local replica: its digest, for every other node that hosts its group.
  caf::reacts_to<relay_digest_atom, digest_message>,
  // Node to node: the digests of a round (each handed to the local members of its group).
  caf::reacts_to<digests_atom, std::vector<relayed_digest>>, caf::replies_to<stats_atom>::with<membership_stats>,
  // Node-to-node protocol: introductions with members, known nodes and the sender's own address
  // ("host:port", empty when it does not listen), then joins and leaves.
  caf::reacts_to<hello_atom, caf::actor, std::vector<member_entry>, std::vector<caf::actor>, std::string>,
  caf::reacts_to<hello_ack_atom, caf::actor, std::vector<member_entry>, std::vector<caf::actor>, std::string>,
  caf::reacts_to<member_up_atom, std::string, caf::strong_actor_ptr>,
  caf::reacts_to<member_down_atom, std::string, caf::actor_addr>,
  // Handshake: (initiator, nonce_a); (responder, nonce_a, nonce_b, mac_b); (initiator, nonce_b,
  // mac_a). Challenge and proof repeat the nonce they answer, so that a message of an older
  // handshake between the same two nodes is told apart from a wrong MAC and ignored.
  caf::reacts_to<auth_hello_atom, caf::actor, std::string>,
  caf::reacts_to<auth_challenge_atom, caf::actor, std::string, std::string, std::string>,
  caf::reacts_to<auth_proof_atom, caf::actor, std::string, std::string>>;

/// Options of a node's membership actor.
struct membership_options {
  /// The cluster secret (like Erlang's cookie); empty: none. When set, another node is trusted
  /// only after both sides proved they know it (HMAC-SHA256 over fresh nonces from each side; the
  /// secret never crosses the wire). Until then its membership messages are ignored, so it
  /// learns no replica and none of its replicas joins a group here. A node that fails the check is
  /// logged on stderr ("[grove] membership: ... refused") and dropped.
  std::string secret;
  /// How long a dropped group stays dropped (its tombstone lives). A node that comes back later
  /// with the group in its store brings it back, as if it had been made again.
  std::chrono::milliseconds tombstone_lifetime = std::chrono::hours(24);
  /// Most tombstones a node keeps; beyond, the one that expires first goes early.
  std::size_t max_tombstones = 100'000;
};

/// Spawns the membership actor of an actor system.
membership_actor spawn_membership(caf::actor_system& sys, membership_options opts = {});

}  // namespace grove::actors
