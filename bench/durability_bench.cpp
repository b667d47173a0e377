// Durable mutations (replicas with durability log on a durable DETS-style store), read against the
// disk's own fdatasync rate measured in the same run:
//  - durable_mutations/groups:G: G gcounter groups, a client per group keeping 64 increments in
//    flight; items/s counts acknowledged mutations of all groups; disk_bytes_per_commit is what
//    one LMDB transaction costs on the disk;
//  - log_writes_per_add/adds:A/elements:E: A adds to a set that starts with E elements, 64 in
//    flight, default compaction bound; store_bytes_per_add is the delta and snapshot bytes the
//    replica handed the store per add, disk_bytes_per_add what the process wrote to the disk
//    (/proc/self/io write_bytes: every LMDB page, snapshots included) per add;
//  - disk_per_add_at_200_per_s: the durable 100,000-element set with one add every 5 ms, each
//    acknowledged before the next: disk bytes per add, snapshots amortised (see there);
//  - restart_1000_groups_100k_log_entries: open the store and start 1,000 replicas that load
//    their snapshot and replay 100 log entries each, until all of them answer.
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "grove/actors/replication.hpp"
#include "grove/storage/dets_backend.hpp"
#include "support/actor_bench.hpp"
#include "support/disk_probe.hpp"
#include "support/fixtures.hpp"
#include "support/scale.hpp"

using namespace grove;
using namespace grove::actors;
using grove::bench::fresh_file;
using grove::bench::remove_store;
using grove::bench::scaled;

namespace {

caf::actor_system& sys() { return *grove::bench::bench_system(); }

constexpr int in_flight = 64;

storage::dets_options durable_at(const std::string& path) {
  storage::dets_options opts;
  opts.file = path;
  opts.durable = true;
  return opts;
}

storage_actor durable_store(const std::string& path, storage_actor_options options = {}) {
  return spawn_storage_actor(sys(), std::move(*storage::open_dets(durable_at(path))), options);
}

// A durable store at a fresh path holding group `g`: an orset of `elements` elements.
std::string store_with_set(const std::string& name, const storage::group_key& g, std::size_t elements) {
  auto path = fresh_file(name);
  auto b = std::move(*storage::open_dets(durable_at(path)));
  crdt::orset<std::string> s("loader");
  for (std::size_t i = 0; i < elements; ++i) s.add("element-" + std::to_string(i));
  (void)storage::save(*b, g, s);
  return path;
}

replication_options logged(const storage_actor& store, storage::group_key g) {
  replication_options o;
  o.replica_id = "bench";
  o.group = std::move(g);
  o.storage = store;
  o.durability = durability_mode::log;
  return o;
}

// A client that sends `total` mutations made by `make(i)` to `r`, keeping `in_flight` unanswered,
// and counts the acknowledgements into `done`.
void spawn_client(const replica_actor& r, std::uint64_t total, std::function<crdt::operation(std::uint64_t)> make,
                  std::shared_ptr<std::atomic<std::uint64_t>> done) {
  sys().spawn(
    [=](caf::event_based_actor* self, const replica_actor& target) {
      auto sent = std::make_shared<std::uint64_t>(0), answered = std::make_shared<std::uint64_t>(0);
      auto send_one = std::make_shared<std::function<void()>>();
      *send_one = [=] {
        if (*sent == total) return;
        self->request(target, caf::infinite, mutate_atom::value, make((*sent)++)).then([=](done_atom) {
          ++*done;
          if (++*answered == total)
            *send_one = nullptr;  // it holds itself: let the client go
          else
            (*send_one)();
        });
      };
      for (int i = 0; i < in_flight; ++i) (*send_one)();
    },
    r);
}

void wait_for(const std::atomic<std::uint64_t>& done, std::uint64_t target) {
  while (done.load() < target) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

storage_stats stats_of(const storage_actor& store) {
  caf::scoped_actor self{sys()};
  storage_stats out;
  self->request(store, std::chrono::seconds(60), stats_atom::value)
    .receive([&](storage_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

void stop(const std::vector<caf::actor>& actors) {
  caf::scoped_actor self{sys()};
  for (const auto& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  for (const auto& a : actors) self->wait_for(a);
}

std::uint64_t process_disk_writes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value)
    if (key == "write_bytes:") return value;
  return 0;
}

void durable_mutations(benchmark::State& state) {
  const auto group_count = static_cast<int>(state.range(0));
  const auto per_group = static_cast<std::uint64_t>(scaled(group_count == 1 ? 200'000 : 50'000));
  auto path = fresh_file("durable-mutations.grove");
  auto store = durable_store(path);
  std::vector<replica_actor> replicas;
  for (int i = 0; i < group_count; ++i)
    replicas.push_back(*spawn_replica<crdt::gcounter>(sys(), logged(store, {"counter", "c" + std::to_string(i)})));
  auto done = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto disk_before = process_disk_writes();
  for (auto _ : state) {
    for (auto& r : replicas)
      spawn_client(
        r, per_group,
        [](std::uint64_t) {
          return crdt::operation{"increment", {"1"}};
        },
        done);
    wait_for(*done, per_group * group_count);
  }
  auto s = stats_of(store);
  state.SetItemsProcessed(static_cast<std::int64_t>(per_group * group_count));
  state.counters["groups"] = group_count;
  state.counters["appends"] = static_cast<double>(s.appends);
  state.counters["commits"] = static_cast<double>(s.commits);
  state.counters["disk_bytes_per_commit"] =
    static_cast<double>(process_disk_writes() - disk_before) / static_cast<double>(s.commits);
  std::vector<caf::actor> all;
  for (auto& r : replicas) all.push_back(caf::actor_cast<caf::actor>(r));
  stop(all);
  stop({caf::actor_cast<caf::actor>(store)});
  remove_store(path);
}
BENCHMARK(durable_mutations)
  ->ArgName("groups")
  ->Arg(1)
  ->Arg(8)
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

void log_writes_per_add(benchmark::State& state) {
  const auto elements = static_cast<std::size_t>(state.range(1));
  const auto adds = static_cast<std::uint64_t>(state.range(0));
  storage::group_key g{"set", "big"};
  auto path = store_with_set("big-set.grove", g, elements);
  auto store = durable_store(path);
  auto r = *spawn_replica<crdt::orset<std::string>>(sys(), logged(store, g));
  {
    caf::scoped_actor self{sys()};  // the replica answers once it has loaded the set
    self->request(r, caf::infinite, state_atom::value).receive([](bytes&) {}, [](caf::error&) {});
  }
  auto before = stats_of(store);
  auto disk_before = process_disk_writes();
  auto done = std::make_shared<std::atomic<std::uint64_t>>(0);
  for (auto _ : state) {
    spawn_client(
      r, adds,
      [](std::uint64_t i) {
        return crdt::operation{"add", {"new-" + std::to_string(i)}};
      },
      done);
    wait_for(*done, adds);
  }
  auto after = stats_of(store);
  auto disk = process_disk_writes() - disk_before;
  state.SetItemsProcessed(static_cast<std::int64_t>(adds));
  state.counters["disk_bytes_per_add"] = static_cast<double>(disk) / adds;
  state.counters["store_bytes_per_add"] =
    static_cast<double>(after.bytes_appended + after.bytes_saved - before.bytes_appended - before.bytes_saved) / adds;
  state.counters["snapshots"] = static_cast<double>(after.saves - before.saves);
  state.counters["appends"] = static_cast<double>(after.appends - before.appends);
  stop({caf::actor_cast<caf::actor>(r)});
  stop({caf::actor_cast<caf::actor>(store)});
  remove_store(path);
}
BENCHMARK(log_writes_per_add)
  ->ArgNames({"adds", "elements"})
  ->Args({scaled(400'000), scaled(1'000'000)})
  ->Args({scaled(400'000), scaled(1'000)})
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

// The durable 100,000-element set at 200 adds/s: a client sends one add every 5 ms for 10 s,
// whatever the answers do (200 writes/s from many sources), and waits for every acknowledgement
// (each one on disk); then one snapshot, which also checkpoints the store (every journaled log
// entry into the LMDB file, then truncated). Arg: the storage actor's commit window in ms
// (storage_actor_options::commit_delay). Counters: disk_bytes_per_add_logged (the adds:
// /proc/self/io write_bytes per add), disk_bytes_per_snapshot (the snapshot and its checkpoint),
// disk_bytes_per_add: both amortised as a replica does it by default, one snapshot per
// snapshot_interval (60 s: 12,000 adds at this rate; the log bound, the size of the last snapshot,
// is not reached sooner), and adds_per_commit.
using tick_atom = caf::atom_constant<caf::atom("grv_tick")>;

void disk_per_add_at_200_per_s(benchmark::State& state) {
  const auto elements = static_cast<std::size_t>(scaled(100'000));
  const auto adds = static_cast<std::uint64_t>(scaled(2'000));
  constexpr auto pace = std::chrono::milliseconds(5);
  const double adds_per_snapshot = 60.0 * 1000 / static_cast<double>(pace.count());
  storage::group_key g{"set", "paced"};
  auto path = store_with_set("paced-set.grove", g, elements);
  auto store = durable_store(path, with_commit_delay(std::chrono::milliseconds(state.range(0))));
  auto r = *spawn_replica<crdt::orset<std::string>>(sys(), logged(store, g));
  caf::scoped_actor self{sys()};
  self->request(r, caf::infinite, state_atom::value).receive([](bytes&) {}, [](caf::error&) {});
  auto before = stats_of(store);
  std::uint64_t logged_bytes = 0, snapshot_bytes = 0;
  for (auto _ : state) {
    auto disk_before = process_disk_writes();
    auto done = std::make_shared<std::atomic<std::uint64_t>>(0);
    sys().spawn([=](caf::event_based_actor* client) -> caf::behavior {
      auto sent = std::make_shared<std::uint64_t>(0);
      auto start = std::chrono::steady_clock::now();
      client->send(client, tick_atom::value);
      return {[=](tick_atom) {
        client
          ->request(r, caf::infinite, mutate_atom::value, crdt::operation{"add", {"paced-" + std::to_string(*sent)}})
          .then([=](done_atom) {
            if (++*done == adds) client->quit();
          });
        if (++*sent < adds) {
          auto due = start + pace * *sent;
          client->delayed_send(client, std::max(due - std::chrono::steady_clock::now(), decltype(due - due){0}),
                               tick_atom::value);
        }
      }};
    });
    wait_for(*done, adds);
    logged_bytes = process_disk_writes() - disk_before;
    disk_before = process_disk_writes();
    self->request(r, caf::infinite, snapshot_atom::value).receive([](done_atom) {}, [](caf::error&) {});
    snapshot_bytes = process_disk_writes() - disk_before;
  }
  auto after = stats_of(store);
  state.SetItemsProcessed(static_cast<std::int64_t>(adds));
  state.counters["commit_delay_ms"] = static_cast<double>(state.range(0));
  state.counters["disk_bytes_per_add_logged"] = static_cast<double>(logged_bytes) / static_cast<double>(adds);
  state.counters["disk_bytes_per_snapshot"] = static_cast<double>(snapshot_bytes);
  state.counters["disk_bytes_per_add"] = static_cast<double>(logged_bytes) / static_cast<double>(adds)
                                         + static_cast<double>(snapshot_bytes) / adds_per_snapshot;
  state.counters["adds_per_commit"] =
    static_cast<double>(adds) / static_cast<double>(std::max<std::uint64_t>(1, after.commits - before.commits - 1));
  state.counters["elements"] = static_cast<double>(elements);
  stop({caf::actor_cast<caf::actor>(r)});
  stop({caf::actor_cast<caf::actor>(store)});
  remove_store(path);
}
BENCHMARK(disk_per_add_at_200_per_s)
  ->ArgName("commit_delay_ms")
  ->Arg(0)
  ->Arg(25)
  ->Arg(50)
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

void restart_1000_groups_100k_log_entries(benchmark::State& state) {
  const auto group_count = static_cast<int>(scaled(1'000));
  constexpr int entries_per_group = 100;
  auto path = fresh_file("restart.grove");
  {
    storage::dets_options opts;
    opts.file = path;
    auto b = std::move(*storage::open_dets(opts));
    for (int i = 0; i < group_count; ++i) {
      storage::group_key g{"counter", "c" + std::to_string(i)};
      crdt::gcounter c("before@1");
      (void)c.increment(1);
      std::vector<storage::write_op> ops{storage::write_op::save(g, crdt::encode(c))};
      for (int e = 1; e <= entries_per_group; ++e) {
        c.reset_delta();
        (void)c.increment(1);
        ops.push_back(storage::write_op::append(g, e, crdt::encode(c.delta())));
      }
      (void)b->write(ops);
    }
  }
  std::vector<replica_actor> replicas;
  storage_actor store;
  for (auto _ : state) {
    store = durable_store(path);
    for (int i = 0; i < group_count; ++i)
      replicas.push_back(*spawn_replica<crdt::gcounter>(sys(), logged(store, {"counter", "c" + std::to_string(i)})));
    caf::scoped_actor self{sys()};
    for (auto& r : replicas)
      self->request(r, caf::infinite, state_atom::value).receive([](bytes&) {}, [](caf::error&) {});
  }
  state.counters["groups"] = group_count;
  state.counters["log_entries"] = group_count * entries_per_group;
  std::vector<caf::actor> all;
  for (auto& r : replicas) all.push_back(caf::actor_cast<caf::actor>(r));
  stop(all);
  stop({caf::actor_cast<caf::actor>(store)});
  replicas.clear();
  store = storage_actor{};
  remove_store(path);
}
BENCHMARK(restart_1000_groups_100k_log_entries)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

using grove::bench::disk_fdatasync_4k;
BENCHMARK(disk_fdatasync_4k)->Iterations(scaled(2'000))->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return grove::bench::run_actor_benchmarks(argc, argv); }
