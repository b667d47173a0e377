// Nodes on the network: publishing a node's membership actor and connecting to another node's,
// over CAF's io middleman (TLS when the configuration went through secure_transport or enable_tls,
// tls.hpp), and the actor system settings for nodes. node.hpp starts all of it with one call; these
// are its building blocks, for an application that wires Grove by hand (docs/embedding.md).
//
// Healing: membership remembers the address of every node it has been connected to (the ones
// given to connect(), and the ones it learnt through others, which announce their listening
// address) and, when a connection drops or membership's failure detection takes a silent node as
// gone (after liveness_timeout, protocol.hpp), dials it again: first after reconnect_first_delay, then with the delay
// doubled up to reconnect_max_delay, for as long as the node runs. A seed that is down when connect() is called is
// dialled the same way. Each reconnection runs the cluster-secret handshake (and TLS) again; the replicas then catch up
// through their own protocol (full state to a peer that appears). A node that listens on a wildcard address (0.0.0.0,
// ::) announces none: others reconnect to it only if they were given its address.
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
/// TLS when the actor system's configuration went through secure_transport or enable_tls
/// (tls.hpp), else plaintext. Errors: permission_denied for plaintext on an address that is not
/// loopback, unless security_options::insecure accepted that (anyone who reaches such a port could
/// read and change every replica); unavailable when the port cannot be bound.
expected<std::uint16_t> listen(caf::actor_system& sys, const membership_actor& membership, std::uint16_t port,
                               const std::string& address = "127.0.0.1");

/// Connects this node's membership to the node listening on host:port; the two exchange their
/// members and known nodes; over TLS when secure_transport or enable_tls configured the actor
/// system. Errors: permission_denied when the handshake was refused (the two do not share a
/// credential: another cluster secret, a certificate the other's CA did not sign, or one side
/// without TLS; the message says so, and the refusal is logged on both sides), or for plaintext to
/// a host that is not loopback without security_options::insecure (then nothing is dialled);
/// unavailable when the node cannot be reached in `timeout`. Either way membership keeps the
/// address and dials it again whenever it is not connected (see "Healing" above).
status connect(caf::actor_system& sys, const membership_actor& membership, const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Settings for nodes: CAF's heartbeats as a backstop that closes the connection of a node silent
/// for transport_silence_timeout (membership's ring notices it sooner: protocol.hpp), automatic
/// connections, and scheduler workers that sleep while idle instead of polling every 10 ms.
void configure_node(caf::actor_system_config& cfg);

}  // namespace grove::actors
