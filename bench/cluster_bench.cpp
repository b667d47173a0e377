// Clusters: N grove-node processes on 127.0.0.1 (in-memory stores, OS-chosen ports, each given only
// the first node as its peer), for each N of the list. One JSON line per N:
//   start_seconds      from starting the first process until every node listens
//   mesh_seconds       from then until every node reports N-1 nodes up (its peer_up events)
//   new_group_seconds  the first write of a new group on the last node, until every node hosts the
//                      group and reads the write (`size`, asked once it hosts it)
//   write_seconds      a second write there, until every node reads it (includes the replicas'
//                      sync interval: grove-node's --sync-interval, 1 s by default)
//   idle CPU of each node (mean, max) and of all together, in % of one core, over a window that
//   starts after the writes settled; resident memory per node (VmRSS, mean and max, MiB).
// Usage: cluster_bench [--nodes 8,32,64,128] [--idle-seconds 10] [--settle-seconds 10]
//                      [-- GROVE_NODE_ARGS...]   (passed to every node, e.g. CAF options)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/driven_node.hpp"
#include "support/json_lines.hpp"

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using grove::bench::driven_node;
using grove::bench::wait_until;

namespace {

struct bench_options {
  std::vector<int> sizes{8, 32, 64, 128};
  std::chrono::milliseconds idle_window{10'000};
  std::chrono::milliseconds settle{10'000};
  std::vector<std::string> node_args;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "cluster_bench: " << why
            << "\nusage: cluster_bench [--nodes N[,N...]] [--idle-seconds S] [--settle-seconds S] [-- NODE_ARGS...]\n";
  std::exit(2);
}

int positive(const std::string& text, const char* what) {
  char* end = nullptr;
  long x = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || x < 1 || x > 100'000) usage(std::string(what) + " must be a positive number");
  return static_cast<int>(x);
}

bench_options parse(int argc, char** argv) {
  bench_options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      o.node_args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) usage(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--nodes") {
      o.sizes.clear();
      for (std::size_t at = 0; at <= value.size();) {
        auto comma = std::min(value.find(',', at), value.size());
        int n = positive(value.substr(at, comma - at), "--nodes");
        if (n < 2) usage("a cluster needs at least 2 nodes");
        o.sizes.push_back(n);
        at = comma + 1;
      }
    } else if (arg == "--idle-seconds") {
      o.idle_window = std::chrono::seconds(positive(value, "--idle-seconds"));
    } else if (arg == "--settle-seconds") {
      o.settle = std::chrono::seconds(positive(value, "--settle-seconds"));
    } else {
      usage("unknown option " + arg);
    }
  }
  return o;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The nodes of one cluster; on destruction, all are told to stop at once, then awaited.
struct cluster {
  std::vector<std::unique_ptr<driven_node>> nodes;

  ~cluster() {
    for (auto& n : nodes) n->close_input();
    nodes.clear();
  }

  std::vector<driven_node*> all() const {
    std::vector<driven_node*> out;
    for (const auto& n : nodes) out.push_back(n.get());
    return out;
  }
};

std::unique_ptr<driven_node> start_node(const bench_options& o, int index, const std::string& seed) {
  std::vector<std::string> args{GROVE_NODE, "--name", "n" + std::to_string(index), "--json",
                                "--store",  "ets",    "--scheduler.max-threads=2"};
  if (!seed.empty()) {
    args.push_back("--peer");
    args.push_back(seed);
  }
  args.insert(args.end(), o.node_args.begin(), o.node_args.end());
  return std::make_unique<driven_node>(args);
}

std::int64_t counter_value(const json& answer) {
  return answer.is_object() && answer["size"].is_number() ? answer["size"].get<std::int64_t>() : -1;
}

// Until every node reads at least `want` in `group`: each sweep asks every node that does not yet
// (and, when `after_hosting`, hosts the group: asking first would make it host the group) at once,
// then collects the answers. Whether all got there within `deadline`.
bool everywhere(const cluster& c, const std::string& group, std::int64_t want, bool after_hosting,
                std::chrono::milliseconds deadline) {
  std::vector<driven_node*> waiting = c.all();
  auto until = clock_type::now() + deadline;
  while (!waiting.empty() && clock_type::now() < until) {
    std::vector<driven_node*> asked;
    for (auto* n : waiting)
      if (!after_hosting || n == c.nodes.back().get() || n->hosting() > 0) {
        n->send("size " + group);
        asked.push_back(n);
      }
    for (auto* n : asked)
      if (counter_value(n->next_answer()) >= want) waiting.erase(std::find(waiting.begin(), waiting.end(), n));
    if (!waiting.empty()) std::this_thread::sleep_for(20ms);
  }
  return waiting.empty();
}

json summary(std::vector<double> xs) {
  if (xs.empty()) return json::object();
  auto total = std::accumulate(xs.begin(), xs.end(), 0.0);
  return {{"mean", total / static_cast<double>(xs.size())},
          {"max", *std::max_element(xs.begin(), xs.end())},
          {"total", total}};
}

// A write on the last node of a new group, then a second one: how long until every node reads
// each. The error, or nothing.
std::optional<std::string> time_writes(const cluster& c, json& out) {
  const std::string group = "counter:cluster-probe";
  auto& writer = *c.nodes.back();
  auto t0 = clock_type::now();
  writer.ask("incr " + group + " 1");
  bool reached = everywhere(c, group, 1, true, 300s);
  out["new_group_seconds"] = seconds_since(t0);
  if (!reached) return "the first write did not reach every node within 300 s";
  auto t1 = clock_type::now();
  writer.ask("incr " + group + " 1");
  reached = everywhere(c, group, 2, false, 300s);
  out["write_seconds"] = seconds_since(t1);
  if (!reached) return "the second write did not reach every node within 300 s";
  return std::nullopt;
}

// Idle CPU over the window and resident memory afterwards, into `out`.
void measure_idle(const bench_options& o, const cluster& c, json& out) {
  auto all = c.all();
  auto cpu = grove::bench::cpu_percent(all, o.idle_window);
  std::vector<double> rss;
  for (auto* n : all) rss.push_back(grove::bench::rss_mib(n->pid()));
  out["idle_seconds"] = std::chrono::duration<double>(o.idle_window).count();
  out["idle_cpu_percent"] = summary(cpu);
  auto memory = summary(rss);
  memory.erase("total");
  out["rss_mib"] = memory;
}

// One cluster of `size` nodes. A cluster that does not mesh still has its idle CPU and memory
// measured (the line says what went wrong: "error", and what each node saw: "nodes_up").
json run_cluster(const bench_options& o, int size) {
  json out{{"name", "cluster"}, {"nodes", size}};
  cluster c;
  auto t0 = clock_type::now();
  c.nodes.push_back(start_node(o, 0, {}));
  auto port = c.nodes.front()->port();
  if (port <= 0) {
    out["error"] = "the first node did not say where it listens";
    return out;
  }
  auto seed = "127.0.0.1:" + std::to_string(port);
  for (int i = 1; i < size; ++i) c.nodes.push_back(start_node(o, i, seed));
  auto all = c.all();
  bool started =
    wait_until([&] { return std::all_of(all.begin(), all.end(), [](auto* n) { return n->listening(); }); }, 120s);
  out["start_seconds"] = seconds_since(t0);
  if (!started) {
    out["error"] = "not every node started within 120 s";
    return out;
  }

  auto t1 = clock_type::now();
  bool meshed = wait_until(
    [&] { return std::all_of(all.begin(), all.end(), [&](auto* n) { return n->nodes_up() == size - 1; }); }, 120s);
  out["mesh_seconds"] = seconds_since(t1);
  if (!meshed) {
    out["error"] = "not every node saw the others up within 120 s (nodes_up: what each saw)";
    out["nodes_up"] = json::array();
    for (auto* n : all) out["nodes_up"].push_back(n->nodes_up());
  } else if (auto why = time_writes(c, out)) {
    out["error"] = *why;
  }
  std::this_thread::sleep_for(o.settle);  // the digest rounds after the writes end
  measure_idle(o, c, out);
  return out;
}

// Every node holds a connection to every other, and the bench two pipes per node.
void raise_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  raise_file_limit();
  std::cout
    << json{{"machine", {{"cpu", grove::bench::cpu_model()}, {"cpus", std::thread::hardware_concurrency()}}}}.dump()
    << std::endl;
  for (int size : o.sizes) std::cout << run_cluster(o, size).dump() << std::endl;
  return 0;
}
