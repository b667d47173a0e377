// Failure detection whose cost does not grow with the cluster (Akka Cluster's
// monitored-by-nr-of-members, SWIM's probes): the nodes sit on a ring ordered by a hash of their
// keys, and each node watches only the watched_successors nodes after it. Each node sends its
// watchers (the watched_successors nodes before it) a heartbeat once per liveness_probe_interval;
// a watcher that misses one asks the node directly (a probe, which is answered: their views of the
// ring may differ for a moment). A watched node silent for liveness_timeout is unreachable; the
// watcher tells every other node, and each of them confirms it with probes of its own before
// taking it as gone (one node's bad link does not cut a node off from everyone). Each failure is
// thus seen by several watchers, and a node sends and receives watched_successors heartbeats a
// second whatever the size of the cluster. Part of membership's protocol core (membership_core.hpp
// says what follows a verdict). CAF-free.
//
// A pause of this process (a stop signal, a swapped-out machine) would make every watched node
// look silent: a tick that comes more than a timeout late starts every silence over instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "addresses.hpp"

namespace grove::actors::membership {

class liveness {
public:
  /// What a tick decided: whom to send a heartbeat and whom to probe now, and who is gone.
  struct verdict {
    std::vector<node_key> heartbeat;  // this node's watchers
    std::vector<node_key> probe;      // watched nodes whose heartbeat is late, and suspected ones
    std::vector<node_key> silent;     // watched nodes found silent: to be reported to the others
    std::vector<node_key> confirmed;  // reported by another node, and silent here too
  };

  explicit liveness(node_key self);

  /// Starts tracking `node` (it was introduced), as heard from at `now`.
  void add(const node_key& node, timestamp now);
  /// Stops tracking `node` (it is gone).
  void remove(const node_key& node);
  /// A message of `node` arrived: it is alive, and any suspicion of it ends.
  void heard(const node_key& node, timestamp now);
  /// Another node reported `node` unreachable: unless it is heard from within liveness_timeout,
  /// a later tick confirms it. True when it should be probed at once (a new suspicion).
  bool suspect(const node_key& node, timestamp now);
  /// Once per liveness_probe_interval.
  verdict tick(timestamp now);

  bool empty() const { return nodes_.empty(); }
  bool tracks(const node_key& node) const { return nodes_.count(node) > 0; }
  /// The nodes this one watches: the watched_successors after it on the ring.
  std::vector<node_key> watched() const;
  /// The nodes that watch this one (as far as this node knows): the watched_successors before it.
  std::vector<node_key> watchers() const;

private:
  struct entry {
    std::uint64_t position = 0;            // on the ring
    timestamp silent_since{0};             // last heard from, or when its watch began
    std::optional<timestamp> suspected{};  // reported unreachable at
  };

  void restart_silences(timestamp now);
  std::vector<node_key> ring_order() const;

  node_key self_;
  std::uint64_t self_position_;
  std::map<node_key, entry> nodes_;
  std::set<node_key> watching_;  // as of the last tick
  std::optional<timestamp> last_tick_;
};

}  // namespace grove::actors::membership
