// Scale: three grove-node processes on loopback (in-memory stores, --sync-interval 200), the CPU
// each one uses (from /proc/PID/stat) while idle with 1, 1,000 and 10,000 groups, how long until
// 10,000 groups created on one node are hosted by all three, and a set of 1,000,000 elements under
// 1,000 adds/s on one node (one command line per add, then one batch of 10 adds every 10 ms): CPU
// per node, bytes on the loopback interface per add and peer (every packet of every node, TCP/IP
// headers included, from /proc/net/dev), how far the others trail, and how long a fourth node
// takes to hold the set. One JSON line per figure.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/driven_node.hpp"
#include "support/json_lines.hpp"

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using grove::bench::cpu_percent;
using grove::bench::cpu_seconds;
using grove::bench::driven_node;
using grove::bench::wait_until;

std::unique_ptr<driven_node> start(const std::string& name, const std::string& peer = {},
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{GROVE_NODE,
                                "--name",
                                name,
                                "--json",
                                "--store",
                                "ets",
                                "--sync-interval",
                                "200",
                                "--max-groups",
                                "20000",
                                "--scheduler.max-threads=2"};
  args.insert(args.end(), extra.begin(), extra.end());
  if (!peer.empty()) {
    args.push_back("--peer");
    args.push_back(peer);
  }
  return std::make_unique<driven_node>(args);
}

void print(json j) { std::cout << j.dump() << std::endl; }

std::size_t set_size(driven_node& n, const std::string& group) {
  auto j = n.ask("size " + group);
  return j.is_object() && j["size"].is_number() ? j["size"].get<std::size_t>() : 0;
}

// Bytes sent on the loopback interface so far (all processes; here, the nodes' connections).
std::uint64_t loopback_bytes() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos || line.substr(0, colon).find("lo") == std::string::npos) continue;
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t value = 0;
    for (int i = 0; i < 9 && fields >> value; ++i) {
    }
    return value;  // the 9th field: bytes transmitted
  }
  return 0;
}

// 1,000 adds/s on `writer` for 10 s (10 every 10 ms; one line each, or one batch of 10): CPU of
// each node and loopback bytes per add and peer. Returns how many adds it sent.
int adds_at_1000_per_s(std::vector<driven_node*> all, int first, bool batched) {
  constexpr int per_tick = 10, ticks = 1'000;
  std::vector<double> before;
  for (auto* n : all) before.push_back(cpu_seconds(n->pid()));
  auto bytes_before = loopback_bytes();
  auto t0 = clock_type::now();
  int sent = 0;
  for (int tick = 0; tick < ticks; ++tick) {
    std::vector<std::string> ten;
    for (int k = 0; k < per_tick; ++k) ten.push_back("add set:big new-" + std::to_string(first + sent++));
    if (batched)
      all[0]->run_batch("set:big", ten);
    else
      all[0]->run(ten);
    std::this_thread::sleep_until(t0 + (tick + 1) * 10ms);
  }
  auto elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::vector<double> busy;
  for (std::size_t i = 0; i < all.size(); ++i)
    busy.push_back(100.0 * (cpu_seconds(all[i]->pid()) - before[i]) / elapsed);
  auto bytes = static_cast<double>(loopback_bytes() - bytes_before);
  print({{"name", "set_1m_under_1000_adds_per_s"},
         {"batched", batched},
         {"adds", sent},
         {"seconds", elapsed},
         {"cpu_percent_a", busy[0]},
         {"cpu_percent_b", busy[1]},
         {"cpu_percent_c", busy[2]},
         {"loopback_bytes_per_add_per_peer", bytes / sent / 2}});
  return sent;
}

}  // namespace

int main() {
  print({{"machine", {{"cpu", grove::bench::cpu_model()}, {"cpus", std::thread::hardware_concurrency()}}}});
  auto a = start("a");
  auto seed = "127.0.0.1:" + std::to_string(a->port());
  auto b = start("b", seed), c = start("c", seed);
  b->port();
  c->port();
  std::vector<driven_node*> all{a.get(), b.get(), c.get()};

  // Groups created on a; the others host them unasked. Idle CPU once all three host them.
  int created = 0;
  for (int target : {1, 1'000, 10'000}) {
    std::vector<std::string> commands;
    for (; created < target; ++created) commands.push_back("incr counter:g" + std::to_string(created) + " 1");
    auto t0 = clock_type::now();
    a->run(commands);
    bool hosted = wait_until([&] { return b->hosting() >= target && c->hosting() >= target; }, 120s);
    auto seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::this_thread::sleep_for(8s);  // the last digest rounds and snapshots (5 s after a change) end
    auto idle = cpu_percent(all, 10s);
    print({{"name", "groups_created_on_one_node_hosted_by_all"},
           {"groups", target},
           {"all_hosted", hosted},
           {"seconds", seconds}});
    print({{"name", "idle_cpu_percent_per_node"}, {"groups", target}, {"a", idle[0]}, {"b", idle[1]}, {"c", idle[2]}});
  }

  // A set of 1,000,000 on a (filled with batches of 10,000), then 1,000 adds/s for 10 s.
  constexpr int elements = 1'000'000, fill_batch = 10'000;
  auto fill_start = clock_type::now();
  for (int i = 0; i < elements; i += fill_batch) {
    std::vector<std::string> lines;
    for (int k = i; k < i + fill_batch; ++k) lines.push_back("add set:big element-" + std::to_string(k));
    a->run_batch("set:big", lines);
  }
  bool filled =
    wait_until([&] { return set_size(*b, "set:big") == elements && set_size(*c, "set:big") == elements; }, 300s);
  print({{"name", "set_1m_filled_and_replicated"},
         {"elements", elements},
         {"replicated", filled},
         {"seconds", std::chrono::duration<double>(clock_type::now() - fill_start).count()}});
  std::this_thread::sleep_for(3s);  // the digest rounds after the fill end
  int sent = adds_at_1000_per_s(all, 0, false);
  // How far b and c trail: from the last add until both hold every element (each check decodes
  // the set once, so this is an upper bound).
  auto t1 = clock_type::now();
  bool caught_up = wait_until(
    [&] {
      return set_size(*b, "set:big") == std::size_t(elements + sent)
             && set_size(*c, "set:big") == std::size_t(elements + sent);
    },
    60s);
  auto trail_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t1).count();
  print({{"name", "set_1m_others_equal_after_last_add"}, {"caught_up", caught_up}, {"ms", trail_ms}});
  std::this_thread::sleep_for(3s);
  sent += adds_at_1000_per_s(all, sent, true);
  wait_until([&] { return set_size(*b, "set:big") == std::size_t(elements + sent); }, 60s);

  // A fourth node joins and receives the set (--on-demand: it hosts the set when first asked, not
  // the 10,000 counters too, so the figure is the set's).
  auto t2 = clock_type::now();
  auto d = start("d", seed, {"--on-demand"});
  d->port();
  bool received = wait_until([&] { return set_size(*d, "set:big") == std::size_t(elements + sent); }, 120s);
  print({{"name", "new_node_receives_the_set"},
         {"elements", elements + sent},
         {"received", received},
         {"seconds_from_start", std::chrono::duration<double>(clock_type::now() - t2).count()}});
  return 0;
}
