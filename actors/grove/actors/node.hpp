// A Grove node in an application's actor system: one call starts what an application needs to
// save, load and replicate CRDTs by messages (the storage actor, membership, listening, seeds and
// reconnection, the hosting of groups, the delta log, metrics), and one call stops it keeping every
// final snapshot. Its settings are the grove.* options of the configuration (node_config.hpp).
//
//   struct config : grove::actors::node_config<> {};      // declares grove.*, secures the transport
//   void caf_main(caf::actor_system& sys, const config&) {
//     auto node = grove::actors::node::start(sys);        // expected<node>
//     if (!node) { std::cerr << node.error().to_string() << "\n"; return; }
//     auto views = node->replica({"counter", "views"});   // expected<replica_actor>
//     ...                                                  // messages (replica.hpp)
//     node->stop();                                        // final snapshots, store closed
//   }
//   CAF_MAIN()
//
// Why a node and a config mixin rather than a CAF module: CAF 0.17 keeps its modules in a fixed
// table (actor_system::module::id_t names the middleman, the openssl manager and a few more), so
// a third party cannot add one. Its configuration is open, though (options, types), and the actor
// system starts actors for anyone; so the configuration half is a mixin (node_config.hpp) and the
// running half a handle that the application starts from its actor system and stops before it.
//
// The building blocks the node is made of (listen, connect, configure_node) are in network.hpp,
// for an application that wires Grove by hand (docs/embedding.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "grove/actors/crdt_slot.hpp"
#include "grove/actors/membership.hpp"
#include "grove/actors/network.hpp"
#include "grove/actors/node_config.hpp"
#include "grove/actors/node_event.hpp"
#include "grove/actors/replica.hpp"
#include "grove/actors/storage_actor.hpp"
#include "grove/crdt/error.hpp"
#include "grove/storage/backend.hpp"

namespace grove::actors {

// -- the node ---------------------------------------------------------------------------------------

/// Which CRDT type a group's kind stands for: the kind is the part of the group before the colon
/// (`counter:views`). A node starts replicas of the kinds it knows, on request and when another node
/// hosts such a group.
class crdt_kinds {
public:
  /// counter (gcounter), pncounter, set (orset of strings), map (ormap of strings to LWW string
  /// registers), register (LWW string register), list (rga of strings): grove-node's kinds.
  static crdt_kinds standard();

  /// Adds (or replaces) a kind whose replicas hold a T.
  template <class T>
  crdt_kinds& add(std::string kind) {
    return add(std::move(kind), [](const std::string& owner) -> std::unique_ptr<crdt_slot> {
      return std::make_unique<typed_slot<T>>(owner);
    });
  }
  crdt_kinds& add(std::string kind, slot_factory make);

  /// The factory of `kind`, or null.
  const slot_factory* find(const std::string& kind) const;
  /// Every kind, sorted.
  std::vector<std::string> names() const;

private:
  std::map<std::string, slot_factory> kinds_;
};

/// What node::start takes besides the configuration.
struct node_setup {
  crdt_kinds kinds = crdt_kinds::standard();
  /// Subscribed to the node's events from the very start (node_event messages): the listening
  /// address, seeds, warnings, the progress of loading the store. Optional; see node::subscribe.
  caf::actor events;
};

/// What a node is doing (node::stats).
struct node_stats {
  std::uint64_t groups = 0;  // hosted here
  std::uint64_t nodes = 0;   // other nodes connected and trusted
  storage_stats storage;
  membership_stats membership;
};

/// The other nodes as this one sees them (node::peers).
struct peer_listing {
  std::uint64_t nodes = 0;                       // connected and trusted
  std::map<std::string, std::uint64_t> members;  // replicas of each hosted group, on every node
  std::vector<std::string> connected;            // addresses of connected nodes
  std::vector<std::string> unreachable;          // remembered addresses being dialled again
};

namespace detail {
struct node_state;
}

/// A running Grove node: a handle, movable, not copyable. Its calls block the calling thread for a
/// request to an actor at most (call them from outside actors, or use the actors' messages, which
/// do not block). Stop it (or destroy it, which stops it) before the actor system goes: the storage
/// actor runs on a thread of its own that CAF's ~actor_system waits for.
class node {
public:
  /// Starts a node in `sys`, whose configuration must be a node_config that parse() (or prepare())
  /// prepared: opens the store (grove.store, grove.data, grove.durable), spawns the storage actor
  /// and membership (grove.name, the secret, grove.tombstone-lifetime, grove.on-demand), serves
  /// metrics (grove.metrics), listens (grove.address, grove.port), dials the seeds (grove.peer;
  /// one that does not answer is dialled again in the background), and starts a replica for every
  /// stored group of a kind it knows (other groups are the application's own, saved through the
  /// storage actor, and left alone), waiting until each has loaded (progress events while it takes
  /// longer than grove.progress-interval). Errors, each naming its reason: invalid_argument for a configuration
  /// that is not a prepared node_config or options changed since; the store's errors (io_error,
  /// locked, not_a_store, permission_denied, ...); unavailable for a port or a metrics endpoint that
  /// cannot be bound. Nothing is left running after an error.
  static expected<node> start(caf::actor_system& sys, node_setup setup = {});

  node(node&&) noexcept;
  node& operator=(node&&) noexcept;
  ~node();

  const node_options& options() const;
  /// The port it listens on (grove.port 0 picks one).
  std::uint16_t port() const;
  /// The metrics endpoint it serves, HOST:PORT (grove.metrics with port 0 picks one); empty when off.
  const std::string& metrics_endpoint() const;
  const transport_info& transport() const;

  /// The replica of `group`, started now if this node does not host it yet (its CRDT type follows
  /// from its kind). Errors: invalid_argument for an invalid group or a kind the node does not know;
  /// not_found for a dropped group (while its tombstone lives); too_large when the node hosts
  /// grove.max-groups groups already.
  expected<replica_actor> replica(const storage::group_key& group);
  /// The replica of a group that exists: hosted here, or hosted by a connected node (then started
  /// here too). Errors: not_found when no node hosts it (nothing is made: a read of a group that
  /// does not exist must not create it), and those of replica().
  expected<replica_actor> find_replica(const storage::group_key& group);
  /// The replicas this node hosts, by group (as text).
  std::map<std::string, replica_actor> replicas() const;

  /// The storage actor, for saves and loads by message (storage_actor.hpp).
  storage_actor storage() const;
  /// The storage actor behind the backend interface, for code that is not an actor.
  std::unique_ptr<storage::backend> storage_client(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  membership_actor membership() const;

  /// Sends node_event messages to `subscriber` from now on, until it unsubscribes or is gone.
  void subscribe(const caf::actor& subscriber);
  void unsubscribe(const caf::actor& subscriber);

  /// Connects to another node (as a seed: dialled again whenever the connection drops).
  status connect(const std::string& host, std::uint16_t port);
  /// Drops a group from every node and store (membership.hpp, drop_group_atom).
  status drop(const storage::group_key& group);
  /// Asks every hosted replica for a snapshot and waits for them; the number of groups saved.
  expected<std::size_t> snapshot();
  node_stats stats();
  peer_listing peers();

  /// Stops the node (stop_node: final snapshots, store synced and closed, membership stopped) and
  /// the metrics endpoint. Idempotent. Errors: the first failure of stop_node.
  status stop();

private:
  explicit node(std::shared_ptr<detail::node_state> state);
  std::shared_ptr<detail::node_state> state_;
};

}  // namespace grove::actors
