#include "scale.hpp"

#include "world.hpp"

namespace grove::sim {

detection_at_scale measure_detection(int nodes) {
  using namespace std::chrono;
  detection_at_scale out;
  out.nodes = nodes;
  auto w = world::scripted(nodes, false);
  // Started one every 20 ms, as a cluster comes up: the greetings of a node that starts (each
  // names every node it knows) are then not all in flight at once.
  for (int n = 0; n < nodes; ++n) {
    w->start(n);
    w->run_for(milliseconds(20));
  }
  w->run_for(seconds(20));
  auto before = w->node_messages();
  const auto idle = seconds(10);
  w->run_for(idle);
  out.idle_messages_per_node_per_second =
    static_cast<double>(w->node_messages() - before) / nodes / static_cast<double>(idle.count());
  out.downs_before = w->downs_seen();
  const int silent = nodes / 2;
  w->isolate(silent);
  auto went_silent = w->now();
  const auto step = milliseconds(100);
  for (auto waited = milliseconds(0); waited < seconds(25); waited += step) {
    w->run_for(step);
    out.noticed_by = w->seen_down_by(silent);
    if (out.noticed_by == static_cast<std::size_t>(nodes - 1)) {
      out.noticed_by_all = duration_cast<milliseconds>(w->now() - went_silent);
      break;
    }
  }
  return out;
}

}  // namespace grove::sim
