// grove-sim: the deterministic simulator of Grove's replication protocol. Each seed runs N nodes,
// each with the real protocol cores (membership and one replica per group), on one thread with
// simulated time, network and storage; loss, duplication, reordering, partitions, crashes,
// restarts, restores of older store copies and drops all come from the seed. After the faults it
// heals everything, lets the cluster settle and checks: convergence, no acknowledged durable write
// lost, no dot issued twice, dropped groups stay dropped.
//
//   grove-sim --seeds A..B [--nodes N] [--groups G] [--steps K] [--json]
//   grove-sim --seed S --trace
//   grove-sim --replay FILE      every "seed nodes groups steps" line of FILE (# starts a comment)
//
// One line per failing seed (the invariant broken and the command that replays it), then one JSON
// object with the totals. Exit code 1 when a seed failed, 2 for bad arguments.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sim/scale.hpp"
#include "sim/world.hpp"

namespace {

struct seed_range {
  std::uint64_t first = 1, last = 100;
};

/// One run: a seed and the size it ran at.
struct run_spec {
  std::uint64_t seed = 0;
  grove::sim::run_size size;
};

/// The runs listed in a file of regression seeds: "seed nodes groups steps", # to the end of a line
/// is a comment. Nothing on a bad line (it is reported).
bool read_replay(const std::string& path, std::vector<run_spec>& out) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "grove-sim: cannot read " << path << std::endl;
    return false;
  }
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    run_spec r;
    if (!(fields >> r.seed)) continue;  // blank or comment
    if (!(fields >> r.size.nodes >> r.size.groups >> r.size.steps)) {
      std::cerr << "grove-sim: " << path << ":" << number << ": expected 'seed nodes groups steps'" << std::endl;
      return false;
    }
    out.push_back(r);
  }
  return true;
}

bool parse_range(const std::string& text, seed_range& out) {
  auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      out.first = out.last = std::stoull(text);
    } else {
      out.first = std::stoull(text.substr(0, dots));
      out.last = std::stoull(text.substr(dots + 2));
    }
  } catch (const std::exception&) {
    return false;
  }
  return out.first <= out.last;
}

// One JSON line per cluster size: membership's idle messages per node and second, what one write
// costs and how long it takes to reach every node (up to max_nodes_with_a_write nodes), and the
// time until every node took a silent one as gone.
int report_scale(const std::vector<int>& sizes) {
  for (int nodes : sizes) {
    auto started = std::chrono::steady_clock::now();
    auto r = grove::sim::measure_cluster(nodes);
    nlohmann::json line{{"nodes", r.nodes},
                        {"idle_messages_per_node_per_s", r.idle_messages_per_node_per_second},
                        {"downs_before_it", r.downs_before},
                        {"silent_node_noticed_by", r.noticed_by},
                        {"noticed_by_all_ms", r.noticed_by_all ? nlohmann::json(r.noticed_by_all->count()) : nullptr},
                        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
    if (nodes <= grove::sim::max_nodes_with_a_write) {
      line["new_group_state_chunks_per_node"] = r.new_group_state_chunks_per_node;
      line["write_everywhere_ms"] = r.write_everywhere ? nlohmann::json(r.write_everywhere->count()) : nullptr;
      line["write_replica_messages_per_node"] = r.write_replica_messages_per_node;
      line["write_digests_per_node"] = r.write_digests_per_node;
    }
    std::cout << nlohmann::json{{"scale", line}}.dump() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grove-sim: deterministic simulation of Grove's replication protocol"};
  std::string seeds = "1..100";
  std::uint64_t seed = 0;
  grove::sim::run_size size;
  bool as_json = false, trace = false;
  std::string replay;
  app.add_option("--seeds", seeds, "seeds to run, A..B");
  app.add_option("--replay", replay, "a file of 'seed nodes groups steps' lines to run");
  app.add_option("--seed", seed, "one seed (replays it)");
  app.add_option("--nodes", size.nodes, "nodes per run")->check(CLI::Range(1, 64));
  app.add_option("--groups", size.groups, "groups per run")->check(CLI::Range(1, 64));
  app.add_option("--steps", size.steps, "client writes and fault draws per run")->check(CLI::Range(1, 1000000));
  app.add_flag("--json", as_json, "failing seeds as JSON lines too");
  app.add_flag("--trace", trace, "print every event of the run (with --seed)");
  std::vector<int> scale;
  app.add_option("--scale", scale, "failure detection in idle clusters of these sizes (one JSON line each)")
    ->delimiter(',')
    ->check(CLI::Range(2, 4096));
  CLI11_PARSE(app, argc, argv);
  if (!scale.empty()) return report_scale(scale);
  std::vector<run_spec> runs_to_do;
  if (!replay.empty()) {
    if (!read_replay(replay, runs_to_do)) return 2;
  } else {
    seed_range range;
    if (seed != 0)
      range.first = range.last = seed;
    else if (!parse_range(seeds, range)) {
      std::cerr << "grove-sim: --seeds takes A..B with A <= B" << std::endl;
      return 2;
    }
    for (auto s = range.first; s <= range.last; ++s) runs_to_do.push_back({s, size});
  }

  auto started = std::chrono::steady_clock::now();
  nlohmann::json failed = nlohmann::json::array();
  grove::sim::fault_counts faults;
  grove::sim::oracle::check_counts checks;
  std::uint64_t runs = 0;
  for (const auto& [s, run_size] : runs_to_do) {
    grove::sim::world w(s, run_size, trace);
    auto violation = w.run();
    ++runs;
    const auto& c = w.counts();
    faults.lost += c.lost;
    faults.duplicated += c.duplicated;
    faults.reordered += c.reordered;
    faults.partitions += c.partitions;
    faults.crashes += c.crashes;
    faults.restarts += c.restarts;
    faults.restores += c.restores;
    faults.drops += c.drops;
    faults.writes += c.writes;
    faults.acknowledged += c.acknowledged;
    const auto& k = w.checks().checked;
    checks.convergence += k.convergence;
    checks.lost_writes += k.lost_writes;
    checks.dots += k.dots;
    checks.dropped += k.dropped;
    checks.metadata += k.metadata;
    if (!violation) continue;
    auto replay = "grove-sim --seed " + std::to_string(s) + " --nodes " + std::to_string(run_size.nodes) + " --groups "
                  + std::to_string(run_size.groups) + " --steps " + std::to_string(run_size.steps) + " --trace";
    failed.push_back(s);
    if (as_json)
      std::cout << nlohmann::json{{"seed", s}, {"violation", *violation}, {"replay", replay}}.dump() << "\n";
    else
      std::cout << "seed " << s << ": " << *violation << " (replay: " << replay << ")\n";
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json summary{{"seeds", runs},
                         {"failed", failed},
                         {"seconds", seconds},
                         {"faults",
                          {{"lost", faults.lost},
                           {"duplicated", faults.duplicated},
                           {"reordered", faults.reordered},
                           {"partitions", faults.partitions},
                           {"crashes", faults.crashes},
                           {"restarts", faults.restarts},
                           {"restores", faults.restores},
                           {"drops", faults.drops}}},
                         {"writes", {{"attempted", faults.writes}, {"acknowledged", faults.acknowledged}}},
                         {"checks",
                          {{"convergence", checks.convergence},
                           {"lost_writes", checks.lost_writes},
                           {"dots", checks.dots},
                           {"dropped", checks.dropped},
                           {"metadata", checks.metadata}}}};
  std::cout << summary.dump() << std::endl;
  return failed.empty() ? 0 : 1;
}
