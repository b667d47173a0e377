#include "scale.hpp"

#include "world.hpp"

namespace grove::sim {

namespace {

void measure_write(world& w, int nodes, cluster_at_scale& out) {
  using namespace std::chrono;
  auto messages = w.replica_messages();
  auto digests = w.digests_relayed();
  auto written = w.now();
  w.increment(nodes - 1, "counter:scale", 1);
  const auto step = milliseconds(10);
  for (auto waited = milliseconds(0); waited < seconds(10); waited += step) {
    bool everywhere = true;
    for (int n = 0; n < nodes && everywhere; ++n) everywhere = w.counter_value(n, "counter:scale").value_or(0) == 2;
    if (everywhere) {
      out.write_everywhere = duration_cast<milliseconds>(w.now() - written);
      break;
    }
    w.run_for(step);
  }
  w.run_for(seconds(10) - duration_cast<milliseconds>(w.now() - written));
  out.write_replica_messages_per_node = static_cast<double>(w.replica_messages() - messages) / nodes;
  out.write_digests_per_node = static_cast<double>(w.digests_relayed() - digests) / nodes;
}

}  // namespace

cluster_at_scale measure_cluster(int nodes) {
  using namespace std::chrono;
  cluster_at_scale out;
  out.nodes = nodes;
  auto w = world::scripted(nodes, false);
  // Started one every 20 ms, as a cluster comes up: the greetings of a node that starts (each
  // names every node it knows) are then not all in flight at once.
  for (int n = 0; n < nodes; ++n) {
    w->start(n);
    w->run_for(milliseconds(20));
  }
  bool with_write = nodes <= max_nodes_with_a_write;
  auto chunks = w->state_chunks();
  if (with_write) w->increment(0, "counter:scale", 1);  // every node hosts the group before the idle seconds
  w->run_for(seconds(20));
  out.new_group_state_chunks_per_node = static_cast<double>(w->state_chunks() - chunks) / nodes;
  auto before = w->node_messages();
  const auto idle = seconds(10);
  w->run_for(idle);
  out.idle_messages_per_node_per_second =
    static_cast<double>(w->node_messages() - before) / nodes / static_cast<double>(idle.count());
  out.downs_before = w->downs_seen();
  if (with_write) measure_write(*w, nodes, out);
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
