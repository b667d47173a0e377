// Nodes: publishing a node's membership actor and connecting to another node's, over CAF's io
// middleman (TLS when the configuration went through enable_tls, tls.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "grove/actors/membership.hpp"
#include "grove/crdt/error.hpp"

namespace grove::actors {

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
status connect(caf::actor_system& sys, const membership_actor& membership, const std::string& host,
               std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Middleman settings for nodes: heartbeats so that a silently vanished peer is noticed.
void configure_node(caf::actor_system_config& cfg);

}  // namespace grove::actors
