// Clusters at scale, in the simulator: what membership costs an idle cluster of N nodes, what one
// write costs and how long it takes to reach every node, and how long until every node takes a
// silent one as gone (grove-sim --scale, and protocol_scenario_test). Counts membership's own messages only: CAF's
// heartbeat backstop (transport_heartbeat_interval, between every pair of nodes) is not simulated. CAF-free.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

namespace grove::sim {

struct cluster_at_scale {
  int nodes = 0;
  double idle_messages_per_node_per_second = 0;
  double new_group_state_chunks_per_node = 0;  // full-state chunks between nodes, per node, while a new group forms
  std::optional<std::chrono::milliseconds> write_everywhere;  // after the write was made
  double write_replica_messages_per_node = 0;                 // replica messages between nodes, per node, for one write
  double write_digests_per_node = 0;                          // digests relayed for it, per node
  std::size_t downs_before = 0;  // nodes taken as gone before one went silent (none should be)
  std::size_t noticed_by = 0;    // nodes that took the silent one as gone within the limit
  std::optional<std::chrono::milliseconds> noticed_by_all;  // after it went silent
};

/// The largest cluster whose new group and write are measured. When every pair of replicas greeted
/// with full states (N² transfers held in memory at once), 512 nodes took more than 11 GiB.
constexpr int max_nodes_with_a_write = 1000;

/// Starts `nodes` nodes, one every 20 ms (every one given every other as seed), lets them settle,
/// counts the node messages of 10 idle seconds; up to max_nodes_with_a_write nodes, first makes a
/// group at one node (an increment, before the idle seconds) and counts the full-state chunks sent
/// in the 20 s that follow, then increments that counter at another node, and counts until every node holds it, and
/// what the write sent until 10 s after it (its delta, acknowledgements, the digest rounds that follow); then cuts
/// every link of one node and waits (in simulated time) up to 25 s, before CAF's backstop would
/// close its connections, until every other node announced it down.
cluster_at_scale measure_cluster(int nodes);

}  // namespace grove::sim
