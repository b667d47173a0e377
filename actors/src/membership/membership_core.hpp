// The protocol core of a node's membership (the :pg analogue; membership.hpp documents what it
// promises): which replicas belong to which group on this node and on every connected node, the
// introduction of nodes (version probe, cluster-secret handshake, hello), reconnection to known
// addresses, dropped groups, failure detection, and the relay of anti-entropy digests between nodes.
// Each call takes one input and the current time and appends what should happen to an `effects`;
// the CAF actor (membership.cpp) and the simulator carry them out. The jobs are separate classes:
// handshake, addresses, tombstones, liveness; this class is the member tables and the wiring.
// CAF-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "addresses.hpp"
#include "grove/actors/protocol.hpp"
#include "grove/crdt/error.hpp"
#include "grove/storage/backend.hpp"
#include "handshake.hpp"
#include "liveness.hpp"
#include "tombstones.hpp"

namespace grove::actors::membership {

/// A replica: the node it lives on and its actor id there.
struct member_ref {
  node_key node;
  std::uint64_t actor = 0;

  friend bool operator<(const member_ref& a, const member_ref& b) {
    return std::tie(a.node, a.actor) < std::tie(b.node, b.actor);
  }
  friend bool operator==(const member_ref& a, const member_ref& b) { return a.node == b.node && a.actor == b.actor; }
  friend bool operator!=(const member_ref& a, const member_ref& b) { return !(a == b); }
};

using member_entry = basic_member_entry<member_ref>;
using hello = basic_hello<member_ref, node_key>;
using member_change = basic_member_change<member_ref>;
using relayed_digest = basic_relayed_digest<member_ref>;
using node_unreachable = basic_node_unreachable<node_key>;
using node_message =
  std::variant<version_probe, auth_hello, auth_challenge, auth_proof, hello, member_change, std::vector<tombstone>,
               std::vector<relayed_digest>, liveness_probe, liveness_ack, node_unreachable>;

// -- what membership tells its local replicas -----------------------------------------------------
struct peer_up {
  std::string group;
  member_ref peer;
};
struct peer_down {
  std::string group;
  member_ref peer;
};
struct group_dropped {
  std::string group;
};
/// Replica ids the group has (members, and nodes that host every group, named after themselves).
struct group_replicas {
  std::string group;
  std::vector<std::string> replica_ids;
};
using member_notice = std::variant<peer_up, peer_down, group_dropped, group_replicas>;

/// A relayed digest handed to a local member as if `from` had sent it.
struct digest_delivery {
  member_ref from;
  member_ref to;
  digest_message digest;
};

/// Events for the node's watchers: "up"/"down" with a node's address (or key), "group" when a
/// group without a local member appears on another node, "dropped" with a group.
struct node_event {
  std::string event;
  std::string subject;
};

enum class timer_kind : std::uint8_t { redial, introduction_deadline, flush_digests, liveness_tick };
struct timer_request {
  timer_kind kind = timer_kind::redial;
  timestamp delay{0};
  std::string key;  // redial: the address; introduction_deadline: the node
  std::string nonce;
};

/// Connect to host:port (without blocking anything else); the outcome comes back through
/// on_dialed / on_dial_failed with `key`.
struct dial_request {
  std::string key;
  std::string host;
  std::uint16_t port = 0;
};

/// A request to the node's storage actor (tombstones): load or write; the answer comes back
/// through on_storage_done. While a `blocking` one runs, membership takes no other input.
struct storage_request {
  std::uint64_t id = 0;
  storage::group_key key;              // a load
  std::vector<storage::write_op> ops;  // a write, when not empty
  bool blocking = false;
};

/// The answer to a request that was not answered at once (connect).
struct client_reply {
  std::uint64_t id = 0;
  status outcome;
};

struct effects {
  std::vector<std::pair<node_key, node_message>> to_nodes;
  std::vector<std::pair<member_ref, member_notice>> to_members;
  std::vector<digest_delivery> digests;
  std::vector<node_event> events;
  std::vector<timer_request> timers;
  std::vector<dial_request> dials;
  std::vector<node_key> monitors;  // watch this node: on_node_down when its connection goes
  std::vector<client_reply> replies;
  std::vector<storage_request> storage;
  std::vector<std::string> log_lines;

  void clear() {
    storage.clear();
    to_nodes.clear();
    to_members.clear();
    digests.clear();
    events.clear();
    timers.clear();
    dials.clear();
    monitors.clear();
    replies.clear();
    log_lines.clear();
  }
};

struct core_options {
  node_key self;       // this node, as the transport names it
  std::string name;    // this node's name, for logs and hellos
  std::string secret;  // the cluster secret; empty: none
  bool hosts_every_group = false;
  timestamp tombstone_lifetime = std::chrono::hours(24);
  std::size_t max_tombstones = 100'000;
  bool has_storage = false;  // tombstones are kept in the store (else in memory only)
  random_bytes random;       // for the handshake's nonces
};

/// What a membership actor counts.
struct core_stats {
  std::uint64_t digests_relayed = 0;  // replicas' digests passed to other nodes (one per node)
  std::uint64_t digest_messages = 0;  // messages that carried them
  std::uint64_t digests_refused = 0;  // relayed digests of replicas that are no member there
  std::uint64_t refused = 0;          // node messages refused (untrusted, another version, spoken for others)
  std::uint64_t unreachable = 0;      // nodes taken as gone by failure detection (liveness.hpp)
  std::uint64_t greeted_again = 0;    // hellos sent because a replica of the node was a stranger here (stranger())
  std::uint64_t asked_again = 0;      // hellos sent because a node without address was lost (on_node_down)
};

class membership_core {
public:
  /// `now` everywhere is the wall clock in milliseconds since the epoch (tombstones keep their
  /// expiry across restarts).
  explicit membership_core(core_options opts);

  /// Loads the tombstones from the store (a blocking request) when there is one.
  void start(timestamp now, effects& out);
  void on_storage_done(std::uint64_t id, const status& outcome, const std::optional<bytes>& value, timestamp now,
                       effects& out);
  bool blocked() const { return loading_ != 0; }

  // -- local replicas and callers ---------------------------------------------------------------

  /// Adds a local replica to a group; its other members, or an error (the group was dropped, or
  /// has max_members_per_group members on this node).
  expected<std::vector<member_ref>> join(const std::string& group, const member_ref& who, const std::string& replica_id,
                                         timestamp now, effects& out);
  void leave(const std::string& group, const member_ref& who, effects& out);
  /// A local replica died: it leaves every group it joined.
  void member_died(const member_ref& who, effects& out);

  std::vector<member_ref> members(const std::string& group) const;
  std::vector<std::string> groups() const;
  std::size_t node_count() const { return nodes_.size(); }
  std::pair<std::vector<std::string>, std::vector<std::string>> address_listing() const { return addresses_.listing(); }
  bool dropped(const std::string& group, timestamp now) { return tombstones_.dropped(group, now); }
  const core_stats& stats() const { return stats_; }
  /// Whether messages of `node` are taken (it proved the cluster secret, or there is none).
  bool trusts(const node_key& node) const { return handshake_.trusts(node); }
  /// The replica ids the group has: its members here and on connected nodes, and the connected
  /// nodes that host every group (a node that hosts every group names its replicas after itself).
  std::set<std::string> replica_ids(const std::string& group) const;

  /// Connects to host:port and keeps dialling it whenever not connected; `id` is answered (a
  /// client_reply) when this attempt ends, or now (true) when it is connected already.
  expected<bool> connect(std::uint64_t id, const std::string& host, std::uint16_t port, timestamp now, effects& out);
  /// The address this node listens on, as others should dial it.
  void advertise(const std::string& host, std::uint16_t port);
  /// Drops a group everywhere (tombstone, local replicas told, every node told).
  status drop(const std::string& group, timestamp now, effects& out);
  /// A local replica's digest for its group's replicas on the nodes `to` (its gossip partners and
  /// the peers that lack its deltas); nodes that do not host the group are skipped.
  void relay_digest(const member_ref& from, digest_message d, std::vector<node_key> to, effects& out);
  /// A local replica of `group` refused a message from `who`, a replica this node does not list as
  /// a member there: its announcement was lost (member changes are not acknowledged, and a link can
  /// lose messages without closing). When `who`'s node is a greeted node, it is greeted again (a
  /// hello that is no answer, once a liveness tick at most), and its answer lists its members.
  void stranger(const std::string& group, const member_ref& who, effects& out);

  // -- the transport ------------------------------------------------------------------------------

  /// A dial succeeded: the membership of `node` is at `key`.
  void on_dialed(const std::string& key, const node_key& node, timestamp now, effects& out);
  /// A dial failed: `why` goes to the connect() calls that wait (and the address is dialled again
  /// later).
  void on_dial_failed(const std::string& key, const error& why, effects& out);
  /// The connection to `node` is gone (or its membership actor died).
  void on_node_down(const node_key& node, effects& out);

  // -- node messages --------------------------------------------------------------------------------

  void receive(const node_key& from, const version_probe& m, timestamp now, effects& out);
  void receive(const node_key& from, const auth_hello& m, timestamp now, effects& out);
  void receive(const node_key& from, const auth_challenge& m, timestamp now, effects& out);
  void receive(const node_key& from, const auth_proof& m, timestamp now, effects& out);
  void receive(const node_key& from, hello& m, timestamp now, effects& out);
  void receive(const node_key& from, const member_change& m, timestamp now, effects& out);
  void receive(const node_key& from, const std::vector<tombstone>& m, timestamp now, effects& out);
  void receive(const node_key& from, std::vector<relayed_digest>& m, timestamp now, effects& out);
  void receive(const node_key& from, const liveness_probe& m, timestamp now, effects& out);
  void receive(const node_key& from, const liveness_ack& m, timestamp now, effects& out);
  void receive(const node_key& from, const node_unreachable& m, timestamp now, effects& out);

  void on_timer(const timer_request& t, timestamp now, effects& out);

private:
  struct node_info {
    std::map<std::string, std::map<member_ref, std::string>> groups;  // its members, with replica ids
    std::string name;
    bool hosts_every_group = false;
    bool greeted = false;  // its first hello arrived (announced as up)
  };

  void introduce(const node_key& node, timestamp now, effects& out);
  void probe(const node_key& node, effects& out);
  void arm_introduction_deadline(const node_key& node, effects& out);
  void introduction_overdue(const timer_request& t, effects& out);
  void proceed(const node_key& node, effects& out);
  bool add_node(const node_key& node, effects& out);
  hello make_hello(bool answer) const;
  void learn(const node_key& from, hello& m, timestamp now, effects& out);
  bool from_trusted(const node_key& from, const char* what, timestamp now, effects& out);
  void forget(const node_key& node, effects& out);
  void check_liveness(timestamp now, effects& out);
  void arm_liveness(timestamp now, effects& out);
  node_info* known_node(const node_key& from);
  void refuse(const node_key& from, const std::string& why, effects& out);
  void announce_up(const std::string& group, const member_ref& who, const std::string& replica_id, const node_key& from,
                   timestamp now, effects& out);
  void announce_down(const std::string& group, const member_ref& who, effects& out);
  void remove_local(const std::string& group, const member_ref& who, effects& out);
  void drop_local_members(const std::string& group, effects& out);
  void dial(const std::string& key, effects& out);
  void schedule_dial(const std::string& key, effects& out);
  void answer_waiting(addresses::entry& a, const status& outcome, effects& out);
  std::string name_of(const node_key& node) const;
  void flush_digests(effects& out);
  void resend_tombstones(timestamp now, effects& out);
  void log(const std::string& line, effects& out);
  void save_tombstones(effects& out);

  core_options opts_;
  handshake handshake_;
  addresses addresses_;
  tombstones tombstones_;
  std::map<std::string, std::map<member_ref, std::string>> local_;  // group -> local members, with replica ids
  std::map<member_ref, std::set<std::string>> joined_;              // local member -> its groups
  std::map<node_key, node_info> nodes_;                             // other nodes, once introduced
  std::map<node_key, std::string> introducing_;                     // nodes whose hello has not come: deadline nonce
  std::set<node_key> probed_;                                       // nodes whose version matched ours
  liveness liveness_;
  bool liveness_armed_ = false;
  std::uint64_t next_probe_ = 0;
  std::map<std::string, timestamp> resending_;  // groups dropped here: their tombstone is resent until then
  std::set<node_key> lost_;           // nodes failure detection took as gone, their connection maybe still open
  std::set<node_key> greeted_again_;  // nodes greeted again for a stranger since the last liveness tick
  bool ask_again_ = false;            // greet every node at the next liveness tick (a node without address was lost)
  struct waiting_digest {
    relayed_digest digest;
    std::vector<node_key> to;
  };
  std::vector<waiting_digest> outgoing_digests_;
  bool digest_flush_armed_ = false;
  std::uint64_t next_storage_id_ = 0;
  std::uint64_t loading_ = 0;  // id of the tombstone load that runs
  std::uint64_t next_nonce_ = 0;
  core_stats stats_;
};

}  // namespace grove::actors::membership
