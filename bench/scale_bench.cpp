// Scale: three grove-node processes on loopback (in-memory stores, --sync-interval 200), the CPU
// each one uses (from /proc/PID/stat) while idle with 1, 1,000 and 10,000 groups, how long until
// 10,000 groups created on one node are hosted by all three, and a set of 1,000,000 elements under
// 1,000 adds/s on one node (one command line per add, then one batch of 10 adds every 10 ms): CPU
// per node, bytes on the loopback interface per add and peer (every packet of every node, TCP/IP
// headers included, from /proc/net/dev), how far the others trail, and how long a fourth node
// takes to hold the set. One JSON line per figure.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_process.hpp"
#include "support/json_lines.hpp"

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A grove-node process whose output a thread reads all the time (a node whose output nobody reads
// would block): answers go to a queue, `hosting` events are counted.
class driven_node {
public:
  explicit driven_node(std::vector<std::string> args) : process_(std::move(args)) {
    reader_ = std::thread([this] {
      while (auto line = process_.read_line(std::chrono::hours(1))) {
        auto j = json::parse(*line, nullptr, false);
        std::lock_guard<std::mutex> guard(mutex_);
        if (j.is_object() && j.contains("event")) {
          if (j["event"] == "hosting") ++hosting_;
          if (j["event"] == "listening") port_ = j["port"].get<int>();
        } else {
          answers_.push_back(std::move(j));
        }
        cv_.notify_all();
      }
    });
  }

  ~driven_node() {
    process_.close_input();
    process_.finish(std::chrono::seconds(60));
    reader_.join();
  }

  int port() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, 30s, [&] { return port_ > 0; });
    return port_;
  }
  pid_t pid() const { return process_.pid(); }
  int hosting() {
    std::lock_guard<std::mutex> guard(mutex_);
    return hosting_;
  }

  // Sends the commands, `window` at a time, and waits for all their answers.
  void run(const std::vector<std::string>& commands, std::size_t window = 500) {
    for (std::size_t i = 0; i < commands.size(); i += window) {
      std::string batch;
      auto end = std::min(commands.size(), i + window);
      for (auto k = i; k < end; ++k) batch += commands[k] + "\n";
      process_.send(batch.substr(0, batch.size() - 1));
      for (auto k = i; k < end; ++k) next_answer();
    }
  }

  // Sends `batch GROUP N` and its N lines, and waits for the batch's one answer.
  json run_batch(const std::string& group, const std::vector<std::string>& lines) {
    std::string text = "batch " + group + " " + std::to_string(lines.size());
    for (const auto& l : lines) text += "\n" + l;
    process_.send(text);
    return next_answer();
  }

  json ask(const std::string& command) {
    process_.send(command);
    return next_answer();
  }

private:
  json next_answer() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, 60s, [&] { return !answers_.empty(); });
    if (answers_.empty()) return json();
    auto j = std::move(answers_.front());
    answers_.pop_front();
    return j;
  }

  grove::tools::node_process process_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<json> answers_;
  int hosting_ = 0;
  int port_ = 0;
};

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

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(content.substr(content.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU of each node over `period`, in percent of one core.
std::vector<double> cpu_percent(const std::vector<driven_node*>& nodes, std::chrono::seconds period) {
  std::vector<double> before;
  for (auto* n : nodes) before.push_back(cpu_seconds(n->pid()));
  std::this_thread::sleep_for(period);
  std::vector<double> out;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    out.push_back(100.0 * (cpu_seconds(nodes[i]->pid()) - before[i]) / static_cast<double>(period.count()));
  return out;
}

void print(json j) { std::cout << j.dump() << std::endl; }

bool wait_until(const std::function<bool()>& condition, std::chrono::seconds deadline) {
  auto until = clock_type::now() + deadline;
  while (clock_type::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

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
