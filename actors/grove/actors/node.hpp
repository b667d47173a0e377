// Nodes: publishing a node's membership actor and connecting to another node's, over CAF's io
// middleman (TLS when the configuration went through enable_tls, tls.hpp).
//
// Healing: membership remembers the address of every node it has been connected to (the ones
// given to connect(), and the ones it learnt through others, which announce their listening
// address) and, when a connection drops (CAF notices a silent peer after connection_timeout),
// dials it again: first after reconnect_first_delay, then with the delay doubled up to
// reconnect_max_delay, for as long as the node runs. A seed that is down when connect() is called
// is dialled the same way. Each reconnection runs the cluster-secret handshake (and TLS) again;
// the replicas then catch up through their own protocol (full state to a peer that appears).
// A node that listens on a wildcard address (0.0.0.0, ::) announces none: others reconnect to it
// only if they were given its address.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "grove/actors/membership.hpp"
#include "grove/crdt/error.hpp"

namespace grove::actors {

/// How long an idle scheduler worker sleeps before it looks for work again, and how often it polls
/// for work without and with short pauses before it sleeps (configure_node).
constexpr std::chrono::milliseconds relaxed_scheduler_sleep{1000};
constexpr std::size_t scheduler_poll_attempts = 10;
constexpr std::size_t scheduler_paused_poll_attempts = 0;

/// Publishes `membership` on `address:port` (port 0 picks a free port) and returns the port. Over
/// TLS when the actor system's configuration went through enable_tls (tls.hpp), else plaintext.
/// No policy check here: an embedder that listens beyond loopback without TLS or a cluster secret
/// opens its node to anyone who can reach the port (grove-node refuses that without --insecure).
expected<std::uint16_t> listen(caf::actor_system& sys, const membership_actor& membership, std::uint16_t port,
                               const std::string& address = "127.0.0.1");

/// Connects this node's membership to the node listening on host:port; the two exchange their
/// members and known nodes; over TLS when enable_tls configured the actor system. Errors:
/// unavailable when the node cannot be reached in `timeout`, or refuses the connection (a TLS
/// node refuses a plaintext one and one whose certificate its CA did not sign, and vice versa).
/// Either way membership keeps the address and dials it again whenever it is not connected (see
/// "Healing" above).
status connect(caf::actor_system& sys, const membership_actor& membership, const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Settings for nodes: heartbeats so that a silently vanished peer is noticed, automatic
/// connections, and scheduler workers that sleep while idle instead of polling every 10 ms.
void configure_node(caf::actor_system_config& cfg);

}  // namespace grove::actors
