// Failure detection whose cost does not grow with the cluster (Akka Cluster's
// monitored-by-nr-of-members, SWIM's probes): the nodes sit on a ring ordered by a hash of their
// keys, and each node watches only the watched_successors nodes after it, probing each once per
// liveness_probe_interval. A watched node silent for liveness_timeout is unreachable; the watcher
// tells every other node, and each of them confirms it with probes of its own before taking it
// as gone (one node's bad link does not cut a node off from everyone). Every node is watched by
// its watched_successors predecessors, so each failure is seen by several. Part of membership's
// protocol core (membership_core.hpp says what follows a verdict). CAF-free.
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
  /// What a tick decided: whom to probe now, and who is gone.
  struct verdict {
    std::vector<node_key> probe;
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

private:
  struct entry {
    std::uint64_t position = 0;            // on the ring
    timestamp silent_since{0};             // last heard from, or when its watch began
    std::optional<timestamp> suspected{};  // reported unreachable at
  };

  void restart_silences(timestamp now);

  node_key self_;
  std::uint64_t self_position_;
  std::map<node_key, entry> nodes_;
  std::set<node_key> watching_;  // as of the last tick
  std::optional<timestamp> last_tick_;
};

}  // namespace grove::actors::membership
