// The replication protocol's manual: every message one replica sends another, who sends it, when,
// and what the receiver does with it, in the style of Akka's Replicator messages. docs/protocol.md
// draws the flows and argues why the invariants hold. CAF-free: the inspect overloads below are
// plain templates, so this header can be included by the protocol cores and the simulator.
//
// Names used throughout (one name per concept):
//  - replica id: the name of a replica in its group (grove-node's --name), unique in the group;
//  - incarnation: "replica_id@" plus 16 random hex digits, taken by a replica when it starts; the
//    owner of every dot the replica makes during that run (the `from` of its messages);
//  - origin: the incarnation that made a delta (what per-origin sequence numbers count);
//  - peer: another replica of the same group, as membership announced it (a transport address);
//  - transfer: one full state sent in chunks.
//
// Every message names its group; a replica ignores messages for another group (a peer that sends
// them is dropped) and messages from actors that are not its peers (counted in
// replica_stats::refused). A peer speaks only for itself: the first origin a peer names is pinned
// to it, and a message naming another origin drops the peer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "grove/crdt/binary.hpp"

namespace grove::actors {

/// The wire version of the replication and membership protocols. Membership's hello carries it;
/// a node of another version is refused with a log line on both sides. Rolling upgrades work
/// between nodes of the same version only (docs/protocol.md, "Versions").
constexpr std::uint32_t protocol_version = 5;

// -- limits -------------------------------------------------------------------------------------
// Named in one place; each bounds what a peer (or a local caller) can make a replica hold.

/// Largest full state a replica assembles from chunks.
constexpr std::size_t max_state_bytes = std::size_t{1} << 30;
/// Chunks of a full state sent to one peer and not yet acknowledged.
constexpr std::uint32_t max_chunks_in_flight = 4;
/// Incoming transfers a replica assembles at once from one peer, and from all peers together.
constexpr std::size_t max_transfers_per_peer = 2;
constexpr std::size_t max_open_transfers = 16;
/// Own deltas kept for resending to a peer that lacks them (and their bytes, in messages).
constexpr std::size_t max_recent_deltas = 1024;
constexpr std::size_t recent_bytes_per_message_size = 4;  // x max_message_bytes
/// Origins a digest or a state may name: more is no replica of this group.
constexpr std::size_t max_summary_origins = 4096;
/// Digest rounds after the last change (or mismatch) before the digest timer may stop (it stops
/// once every peer also acknowledged the replica's deltas; see replica/anti_entropy.hpp).
constexpr int quiet_digest_rounds = 2;
/// Peers a digest round goes to beyond those that lack the replica's deltas (gossip partners).
constexpr std::size_t digest_fanout = 2;
/// Members a group may have on one node, and members a node may report for one group.
constexpr std::size_t max_members_per_group = 1024;
/// Addresses a node remembers for reconnecting (beyond, the least useful is forgotten).
constexpr std::size_t max_known_addresses = 1024;
/// Handshakes a node keeps open at once.
constexpr std::size_t max_open_handshakes = 64;
/// Digests a membership actor holds for relaying at once.
constexpr std::size_t max_waiting_digests = std::size_t{1} << 20;

// -- timing -------------------------------------------------------------------------------------

/// Failure detection (membership/liveness.hpp): each node watches the watched_successors nodes after
/// it on a ring and sends a heartbeat to those before it once per liveness_probe_interval; a
/// watched node silent for liveness_timeout is unreachable (confirmed by each other node with
/// probes of its own).
constexpr std::size_t watched_successors = 3;
constexpr std::chrono::milliseconds liveness_probe_interval{1000};
constexpr std::chrono::milliseconds liveness_timeout{3000};
/// How long the node that dropped a group sends its tombstone to every node once a liveness tick
/// (tombstones are not acknowledged): longer than failure detection takes to notice a silent node
/// (about 2 x (liveness_timeout + 2 x liveness_probe_interval)), so a node that missed the
/// tombstone either gets a resent one or is taken as gone and greeted again (greetings carry
/// tombstones).
constexpr std::chrono::milliseconds tombstone_resend_window{20000};
static_assert(tombstone_resend_window > 2 * (liveness_timeout + 2 * liveness_probe_interval));
/// Dials give up on an address that does not answer within this (the TCP probe, and CAF's
/// connect after it).
constexpr std::chrono::milliseconds connection_timeout{3000};
/// CAF's own heartbeat, only a backstop: it closes a connection silent for
/// transport_silence_timeout (one to a node the ring took as gone, which CAF 0.17 cannot be asked
/// to close). Sent between every pair of nodes, so rare: its cost grows with the square of the
/// cluster's size.
constexpr std::chrono::milliseconds transport_heartbeat_interval{120000};
constexpr std::chrono::milliseconds transport_silence_timeout{360000};
/// Delay before the first reconnection attempt after a connection dropped or a dial failed, and
/// the cap of the doubling delays that follow.
constexpr std::chrono::milliseconds reconnect_first_delay{100};
constexpr std::chrono::milliseconds reconnect_max_delay{1000};
/// A node introduction (version probe, handshake, hellos) not finished by then repeats the step
/// that got no answer, and again after each deadline while the node stays connected (its messages
/// can be lost with a connection that closes under it, or while CAF sorts out two connections
/// dialled at once).
constexpr std::chrono::milliseconds handshake_deadline{2000};
/// Replicas' digest rounds fall on the same instants; the digests of a round wait this long for
/// each other in membership, then go as one message per node.
constexpr std::chrono::milliseconds digest_batch_window{50};

/// How far a replica has merged the deltas of one origin, without a gap.
struct merged_through {
  std::string origin;
  std::uint64_t seq = 0;
};

/// A delta. Sent by a replica to each peer after a change (sync_interval later, at once for a
/// write with a consistency level; with durability log only once the delta is logged), and again
/// to a peer that asks for it (deltas_request) or lacks it (digest). `seq` numbers the sender's
/// deltas 1, 2, ... within its incarnation `from`. The receiver merges it, advances what it merged
/// of `from` when `seq` is the next number, asks for the missing ones when it is not (a gap), and
/// answers with delta_ack.
struct delta_message {
  std::string group;
  std::string from;
  std::uint64_t seq = 0;
  bytes delta;
};

/// One piece of a full state (a transfer). Sent to a peer that appeared, that asked
/// (state_request, read_request), whose digest shows both merged the same deltas but still differ,
/// or instead of a delta too big for one message. At most max_chunks_in_flight unacknowledged per
/// peer; a transfer that gets no acknowledgement for transfer_timeout starts over with the state as
/// it is then. `seq` is the sender's delta number when it encoded the state; the first chunk says
/// how far the state covers the deltas of the sender's members (`merged`) and which reads it serves
/// (`reads`). The receiver acknowledges each chunk (chunk_ack) and, when it has every chunk, merges
/// the state, answers with delta_ack, and counts the sender for each of its waiting reads named.
struct state_chunk {
  std::string group;
  std::string from;
  std::uint64_t seq = 0;
  std::uint64_t transfer = 0;
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  bytes data;
  std::vector<merged_through> merged;
  std::vector<std::uint64_t> reads;
};

/// Acknowledges chunk `index` of a transfer: the sender may send the next chunk.
struct chunk_ack {
  std::string group;
  std::uint64_t transfer = 0;
  std::uint32_t index = 0;
};

/// A replica's anti-entropy summary. Every digest_interval after a change, until two rounds passed
/// without one and every peer acknowledged the sender's deltas, sent to the peers that have not and
/// to two gossip partners (after a member left: to every peer until each holds the same state;
/// replica/anti_entropy.hpp); to peers on other nodes through membership, which batches the digests
/// of a node's groups into one message per node. It lists how far the sender merged its own deltas
/// and each current member's, and the checksum of its encoded state (or 0 in a round right after a
/// change). The receiver resends what the sender lacks of its own deltas, asks for the sender's
/// deltas it lacks, counts what the sender merged of its own as acknowledged, and only when both
/// merged the same deltas and still differ exchanges full states. A digest with a checksum that
/// finds the receiver quiet is answered with the receiver's own digest (`answer` true; answers are
/// not answered), which tells the sender whether the two hold the same and what the receiver
/// merged, so rounds end only once every peer acknowledged, however many digests are lost.
struct digest_message {
  std::string group;
  std::string from;
  std::uint64_t digest = 0;
  std::vector<merged_through> merged;
  bool answer = false;
};

/// "Send me your full state": sent to a peer that appeared, and after a digest that shows equal
/// deltas but different states. The receiver starts a transfer to the sender.
struct state_request {
  std::string group;
};

/// "Send me your deltas from `first` on": sent after a gap in a peer's sequence or a digest that
/// shows the peer made deltas this replica lacks. The receiver resends them from its buffer of
/// recent deltas, or its full state when they are no longer all there.
struct deltas_request {
  std::string group;
  std::uint64_t first = 0;
};

/// The answer to every delta and full state: the sender (incarnation `from`) merged the
/// receiver's deltas through `seq` without a gap. Writes with a consistency level count these.
struct delta_ack {
  std::string group;
  std::string from;
  std::uint64_t seq = 0;
};

/// "Send me your full state for read `read`": sent by a replica serving a read at majority or all
/// to each peer. The receiver starts a transfer that names the read; the reader counts the sender
/// once it merged that transfer.
struct read_request {
  std::string group;
  std::uint64_t read = 0;
};

// -- membership: node to node ---------------------------------------------------------------------
// Each node has one membership actor; membership actors of connected nodes exchange these. The
// messages are templates over how a replica and a node are named: the protocol core
// (membership/membership_core.hpp) names them by value (member_ref, node_key), the CAF actor by
// handle (caf::strong_actor_ptr, caf::actor), and membership.hpp instantiates the CAF forms. The
// sender of a node message is always the transport's: no message names its sender.

/// The first message on a new connection between two nodes, in both directions (`answer` true
/// for the reply). Its shape never changes, so nodes of any two versions can read it: a node whose
/// version differs is refused with a log line on both sides and nothing else is exchanged.
struct version_probe {
  std::uint32_t version = protocol_version;
  bool answer = false;
};

/// A replica of a group on the sending node, and its replica id.
template <class Member>
struct basic_member_entry {
  std::string group;
  Member member;
  std::string replica_id;
};

/// The introduction of two nodes (after the version probe, and after the cluster-secret handshake
/// when there is a secret), and its answer (`answer` true). Carries the node's name, whether it
/// hosts every group of the cluster, its members, the nodes it knows (so a node that connects to one seed learns the
/// others), and the address it listens on (empty when it does not; the receiver redials it when
/// the connection drops). The receiver records the members, tells its local members of each
/// group about them (peer_up), and introduces itself to the nodes it did not know.
template <class Member, class Node>
struct basic_hello {
  bool answer = false;
  std::string name;
  bool hosts_every_group = false;
  std::vector<basic_member_entry<Member>> members;
  std::vector<Node> nodes;
  std::string address;
};

/// A replica of the sending node joined (`up`) or left a group. A node speaks only for its own
/// replicas: an entry naming a replica of another node is refused.
template <class Member>
struct basic_member_change {
  std::string group;
  Member member;
  std::string replica_id;
  bool up = true;
};

/// The cluster-secret handshake: the initiator's nonce; the responder's nonce and MAC; the
/// initiator's MAC. Each MAC is HMAC-SHA256 under the secret over the role, both nodes as the
/// transport names them, and both nonces, so a MAC is worthless in any other direction or pair.
/// Challenge and proof repeat the nonce they answer, so a message of an older handshake between
/// the same nodes is told apart from a wrong MAC and ignored.
struct auth_hello {
  std::string nonce_a;
};
struct auth_challenge {
  std::string nonce_a;
  std::string nonce_b;
  std::string mac_b;
};
struct auth_proof {
  std::string nonce_b;
  std::string mac_a;
};

/// A dropped group and how long its tombstone still lives; sent to every node when the group is
/// dropped, in the greeting of every node, and to a node that announces a member of it. A new
/// tombstone is passed on once; local members of the group are told to drop.
struct tombstone {
  std::string group;
  std::uint64_t remaining_ms = 0;
};

/// "Are you there?": sent to a watched node (one of the watched_successors after the sender on the
/// ring) whose heartbeat is late, and to a node another reported unreachable, once per
/// liveness_probe_interval while that lasts. The receiver answers with liveness_ack repeating
/// `seq`.
struct liveness_probe {
  std::uint64_t seq = 0;
};
/// "I am here": the answer to a probe, and (`seq` 0) the heartbeat each node sends its watchers
/// (the watched_successors before it on the ring) once per liveness_probe_interval. Any message of
/// a node counts as a sign of life; these are for nodes that have nothing else to say.
struct liveness_ack {
  std::uint64_t seq = 0;
};

/// "`node` has been silent for liveness_timeout": sent to every other node by a node that watches
/// `node` and stopped hearing from it. A receiver that knows `node` probes it and takes it as
/// gone only if it stays silent for liveness_timeout there too; it does not pass the report on.
template <class Node>
struct basic_node_unreachable {
  Node node;
};

/// A local replica's digest that membership relays to another node that hosts its group (all
/// the digests of one round go to a node in one message, at most max_digests_per_message). The
/// receiver hands it to its members of the group as if the replica had sent it, but only if the
/// replica is a member on the sending node (a node cannot speak for another's replicas).
template <class Member>
struct basic_relayed_digest {
  Member from;
  digest_message digest;
};

/// Digests relayed in one message, and the most a node takes in one.
constexpr std::size_t max_digests_per_message = 1000;

/// "What do you hold of incarnation `origin`?": sent to every peer by a replica whose state names
/// an incarnation that went before it (the same replica id), before it retires it. The receiver
/// answers with retire_answer.
struct retire_query {
  std::string group;
  std::string origin;
};

/// The answer to retire_query: the digest of the sender's state projected on `origin` (every count,
/// dot and marker of it) and the replica ids the sender knows the group has. The asker adds those
/// ids to its own (a replica it did not know of may hold a retire of `origin` it lacks: a store
/// restored from an old copy), and once every replica of the group answered the asker's own
/// digest, no replica holds anything of `origin` that the asker lacks, and the asker retires it
/// (docs/protocol.md, "Pruning retired incarnations").
struct retire_answer {
  std::string group;
  std::string from;  // the answering incarnation
  std::string origin;
  std::uint64_t digest = 0;
  std::vector<std::string> replicas;
};

template <class Inspector>
auto inspect(Inspector& f, merged_through& x) {
  return f(x.origin, x.seq);
}
template <class Inspector>
auto inspect(Inspector& f, delta_message& x) {
  return f(x.group, x.from, x.seq, x.delta);
}
template <class Inspector>
auto inspect(Inspector& f, state_chunk& x) {
  return f(x.group, x.from, x.seq, x.transfer, x.index, x.count, x.data, x.merged, x.reads);
}
template <class Inspector>
auto inspect(Inspector& f, chunk_ack& x) {
  return f(x.group, x.transfer, x.index);
}
template <class Inspector>
auto inspect(Inspector& f, digest_message& x) {
  return f(x.group, x.from, x.digest, x.merged, x.answer);
}
template <class Inspector>
auto inspect(Inspector& f, state_request& x) {
  return f(x.group);
}
template <class Inspector>
auto inspect(Inspector& f, deltas_request& x) {
  return f(x.group, x.first);
}
template <class Inspector>
auto inspect(Inspector& f, delta_ack& x) {
  return f(x.group, x.from, x.seq);
}
template <class Inspector>
auto inspect(Inspector& f, read_request& x) {
  return f(x.group, x.read);
}
template <class Inspector>
auto inspect(Inspector& f, retire_query& x) {
  return f(x.group, x.origin);
}
template <class Inspector>
auto inspect(Inspector& f, retire_answer& x) {
  return f(x.group, x.from, x.origin, x.digest, x.replicas);
}
template <class Inspector>
auto inspect(Inspector& f, version_probe& x) {
  return f(x.version, x.answer);
}
template <class Inspector, class Member>
auto inspect(Inspector& f, basic_member_entry<Member>& x) {
  return f(x.group, x.member, x.replica_id);
}
template <class Inspector, class Member, class Node>
auto inspect(Inspector& f, basic_hello<Member, Node>& x) {
  return f(x.answer, x.name, x.hosts_every_group, x.members, x.nodes, x.address);
}
template <class Inspector, class Member>
auto inspect(Inspector& f, basic_member_change<Member>& x) {
  return f(x.group, x.member, x.replica_id, x.up);
}
template <class Inspector>
auto inspect(Inspector& f, auth_hello& x) {
  return f(x.nonce_a);
}
template <class Inspector>
auto inspect(Inspector& f, auth_challenge& x) {
  return f(x.nonce_a, x.nonce_b, x.mac_b);
}
template <class Inspector>
auto inspect(Inspector& f, auth_proof& x) {
  return f(x.nonce_b, x.mac_a);
}
template <class Inspector>
auto inspect(Inspector& f, liveness_probe& x) {
  return f(x.seq);
}
template <class Inspector>
auto inspect(Inspector& f, liveness_ack& x) {
  return f(x.seq);
}
template <class Inspector, class Node>
auto inspect(Inspector& f, basic_node_unreachable<Node>& x) {
  return f(x.node);
}
template <class Inspector>
auto inspect(Inspector& f, tombstone& x) {
  return f(x.group, x.remaining_ms);
}
template <class Inspector, class Member>
auto inspect(Inspector& f, basic_relayed_digest<Member>& x) {
  return f(x.from, x.digest);
}

}  // namespace grove::actors
