// Replication servers (architecture §7): increments through one replication server, one-way from
// one and from two clients (through a mutation_writer, and a message each) and request/response from one event-based
// client; state reads; and convergence latency of three nodes on loopback (time from the last mutation until every
// replica holds the same state) at sync intervals of 50 ms and 5000 ms; and what TLS costs between two nodes:
// connection set-up and remote request/response state reads, plaintext against TLS.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "grove/actors/replication.hpp"
#include "grove/actors/tls.hpp"
#include "grove/actors/types.hpp"
#include "grove/crdt/all.hpp"
#include "support/actor_bench.hpp"
#include "support/fixtures.hpp"
#include "support/scale.hpp"

using namespace grove::actors;
using namespace grove::crdt;
using clock_type = std::chrono::steady_clock;

namespace {

using grove::bench::bench_config;
using grove::bench::scaled;

replica_actor counter_replica(caf::actor_system& sys, const std::string& id, std::optional<membership_actor> m = {},
                              std::chrono::milliseconds sync = std::chrono::milliseconds(50)) {
  replication_options o;
  o.replica_id = id;
  o.group = {"counter", "bench"};
  o.sync_interval = sync;
  o.membership = m;
  return *spawn_replica<gcounter>(sys, o);
}

std::uint64_t counter_value(caf::actor_system& sys, const replica_actor& r) {
  caf::scoped_actor self{sys};
  std::uint64_t v = 0;
  self->request(r, std::chrono::seconds(60), state_atom::value)
    .receive([&](grove::bytes& b) { v = decode<gcounter>(b)->value(); }, [](caf::error&) {});
  return v;
}

void stop(caf::actor_system& sys, const std::vector<caf::actor>& actors) {
  caf::scoped_actor self{sys};
  for (auto& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& a : actors) self->wait_for(a);
}

// One-way increments from `clients` threads, 1,000,000 in all, each written by a client thread
// through a mutation_writer (as an application sends many, one way) or sent as a message of its
// own (anon_send); the clock stops when the replica has applied the last one.
void increments_one_way_from(benchmark::State& state, bool through_writer) {
  auto& sys = *grove::bench::bench_system();
  const int clients = static_cast<int>(state.range(0));
  const auto total = static_cast<std::uint64_t>(scaled(1'000'000));
  for (auto _ : state) {
    auto r = counter_replica(sys, "bench");
    auto writer = *mutation_writer::make(r);
    auto start = clock_type::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        operation inc{"increment", {}};
        for (std::uint64_t i = 0; i < total / clients; ++i) {
          if (through_writer) {
            if (!writer.write(inc)) std::abort();  // a full queue: the figure would not mean what it says
          } else {
            caf::anon_send(r, mutate_atom::value, inc);
          }
        }
      });
    for (auto& t : threads) t.join();
    while (counter_value(sys, r) < total) {
    }
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
    stop(sys, {caf::actor_cast<caf::actor>(r)});
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(total));
  state.counters["clients"] = clients;
}

void increments_one_way(benchmark::State& state) { increments_one_way_from(state, true); }
BENCHMARK(increments_one_way)->Arg(1)->Arg(2)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

void increments_one_message_each(benchmark::State& state) { increments_one_way_from(state, false); }
BENCHMARK(increments_one_message_each)->Arg(1)->Arg(2)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

// Batches of `range(0)` increments (one write_request each, all or nothing), 10,000,000 increments
// in all from one client: one-way, or waiting for each batch's answer (range(1) = 1).
void increments_batched(benchmark::State& state) {
  auto& sys = *grove::bench::bench_system();
  const auto batch = static_cast<std::uint64_t>(state.range(0));
  const bool wait_for_answers = state.range(1) == 1;
  const auto total = static_cast<std::uint64_t>(scaled(10'000'000));
  write_request request;
  request.ops.assign(batch, operation{"increment", {}});
  for (auto _ : state) {
    auto r = counter_replica(sys, "bench");
    auto start = clock_type::now();
    if (wait_for_answers) {
      auto client = sys.spawn([=](caf::event_based_actor* self) {
        auto left = std::make_shared<std::uint64_t>(total / batch);
        auto next = std::make_shared<std::function<void()>>();
        *next = [=] {
          if ((*left)-- == 0) return self->quit();
          self->request(r, caf::infinite, mutate_atom::value, request).then([=](replica_count) { (*next)(); });
        };
        (*next)();
      });
      caf::scoped_actor self{sys};
      self->wait_for(client);
    } else {
      for (std::uint64_t i = 0; i < total / batch; ++i) caf::anon_send(r, mutate_atom::value, request);
    }
    while (counter_value(sys, r) < total) {
    }
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
    stop(sys, {caf::actor_cast<caf::actor>(r)});
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(total));
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["answered"] = wait_for_answers ? 1 : 0;
}
BENCHMARK(increments_batched)
  ->Args({1000, 0})
  ->Args({1000, 1})
  ->Args({100, 1})
  ->Iterations(3)
  ->UseManualTime()
  ->Unit(benchmark::kMillisecond);

// An event-based client that waits for each reply before it sends the next increment.
void increments_request_response(benchmark::State& state) {
  auto& sys = *grove::bench::bench_system();
  const auto total = static_cast<int>(scaled(1'000'000));
  for (auto _ : state) {
    auto r = counter_replica(sys, "bench");
    auto start = clock_type::now();
    auto client = sys.spawn([=](caf::event_based_actor* self) {
      auto left = std::make_shared<int>(total);
      auto next = std::make_shared<std::function<void()>>();
      *next = [=] {
        if ((*left)-- == 0) return self->quit();
        self->request(r, caf::infinite, mutate_atom::value, operation{"increment", {}}).then([=](done_atom) {
          (*next)();
        });
      };
      (*next)();
    });
    caf::scoped_actor self{sys};
    self->wait_for(client);
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
    if (counter_value(sys, r) != static_cast<std::uint64_t>(total)) state.SkipWithError("increments lost");
    stop(sys, {caf::actor_cast<caf::actor>(r)});
  }
  state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK(increments_request_response)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

// State reads by an event-based client, one at a time (one replica, a counter it incremented once).
void state_reads(benchmark::State& state) {
  auto& sys = *grove::bench::bench_system();
  const auto total = static_cast<int>(scaled(200'000));
  auto r = counter_replica(sys, "bench");
  caf::anon_send(r, mutate_atom::value, operation{"increment", {"42"}});
  for (auto _ : state) {
    auto start = clock_type::now();
    auto client = sys.spawn([=](caf::event_based_actor* self) {
      auto left = std::make_shared<int>(total);
      auto next = std::make_shared<std::function<void()>>();
      *next = [=] {
        if ((*left)-- == 0) return self->quit();
        self->request(r, caf::infinite, state_atom::value).then([=](grove::bytes&) { (*next)(); });
      };
      (*next)();
    });
    caf::scoped_actor self{sys};
    self->wait_for(client);
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
  }
  state.SetItemsProcessed(state.iterations() * total);
  stop(sys, {caf::actor_cast<caf::actor>(r)});
}
BENCHMARK(state_reads)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

// Three actor systems (nodes) connected over loopback; mutations on each; then the time from the
// last acknowledged mutation until all three replicas hold equal state.
void convergence_three_nodes(benchmark::State& state) {
  const auto sync = std::chrono::milliseconds(state.range(0));
  bench_config ca, cb, cc;
  std::vector<std::unique_ptr<caf::actor_system>> systems;
  for (auto* c : {&ca, &cb, &cc}) systems.push_back(std::make_unique<caf::actor_system>(*c));
  std::vector<membership_actor> members;
  for (auto& s : systems) members.push_back(spawn_membership(*s));
  auto port = listen(*systems[0], members[0], 0);
  (void)connect(*systems[1], members[1], "127.0.0.1", *port);
  (void)connect(*systems[2], members[2], "127.0.0.1", *port);
  std::vector<replica_actor> replicas;
  for (int i = 0; i < 3; ++i)
    replicas.push_back(counter_replica(*systems[i], "n" + std::to_string(i), members[i], sync));
  std::uint64_t expected = 0;
  double worst = 0;
  for (auto _ : state) {
    for (int i = 0; i < 3; ++i) {
      caf::scoped_actor self{*systems[i]};
      self->request(replicas[i], std::chrono::seconds(10), mutate_atom::value, operation{"increment", {"7"}})
        .receive([](done_atom) {}, [](caf::error&) {});
      expected += 7;
    }
    auto start = clock_type::now();
    for (int i = 0; i < 3; ++i)
      while (counter_value(*systems[i], replicas[i]) != expected)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    worst = std::max(worst, seconds);
    state.SetIterationTime(seconds);
  }
  state.counters["sync_interval_ms"] = static_cast<double>(sync.count());
  state.counters["worst_ms"] = worst * 1000;
  for (int i = 0; i < 3; ++i)
    stop(*systems[i], {caf::actor_cast<caf::actor>(replicas[i]), caf::actor_cast<caf::actor>(members[i])});
  replicas.clear();
  members.clear();
  systems.clear();
}
BENCHMARK(convergence_three_nodes)->Arg(50)->Iterations(scaled(20))->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(convergence_three_nodes)->Arg(5000)->Iterations(scaled(3))->UseManualTime()->Unit(benchmark::kMillisecond);

// The files of node `name` from a throwaway PKI (tools/make_throwaway_pki.sh), made once.
tls_options pki_files(const std::string& name) {
  static const std::string dir = [] {
    auto d = grove::bench::scratch_dir() + "/grove-bench-pki";
    std::filesystem::remove_all(d);
    if (std::system((std::string("sh ") + GROVE_PKI_SCRIPT + " " + d).c_str()) != 0) std::abort();
    return d;
  }();
  return tls_options{dir + "/" + name + ".pem", dir + "/" + name + ".key", "", dir + "/ca.pem"};
}

// The first member of the bench group that `m` knows (waits until there is one).
replica_actor first_member(caf::actor_system& sys, const membership_actor& m) {
  caf::scoped_actor self{sys};
  for (;;) {
    std::vector<caf::strong_actor_ptr> members;
    self->request(m, std::chrono::seconds(10), members_atom::value, std::string("counter:bench"))
      .receive([&](std::vector<caf::strong_actor_ptr>& xs) { members = std::move(xs); }, [](caf::error&) {});
    if (!members.empty()) return caf::actor_cast<replica_actor>(members.front());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Two nodes, plaintext (arg 0) or TLS (arg 1): the time connect() takes (counter connect_ms, the
// mean of the iterations), then 2,000 request/response state reads of a replica on the other node.
void remote_state_reads(benchmark::State& state) {
  const bool tls = state.range(0) == 1;
  const auto reads = static_cast<int>(scaled(2000));
  double connect_seconds = 0;
  for (auto _ : state) {
    bench_config ca, cb;
    if (tls && (!enable_tls(ca, pki_files("node1")) || !enable_tls(cb, pki_files("node2")))) std::abort();
    auto a = std::make_unique<caf::actor_system>(ca);
    auto b = std::make_unique<caf::actor_system>(cb);
    auto ma = spawn_membership(*a);
    auto mb = spawn_membership(*b);
    auto r = counter_replica(*a, "a", ma);
    auto port = listen(*a, ma, 0);
    auto connect_start = clock_type::now();
    if (!port || !connect(*b, mb, "127.0.0.1", *port)) std::abort();
    connect_seconds += std::chrono::duration<double>(clock_type::now() - connect_start).count();
    caf::scoped_actor self{*b};
    auto remote = first_member(*b, mb);  // a proxy on node b for the replica on node a
    auto start = clock_type::now();
    for (int i = 0; i < reads; ++i)
      self->request(remote, std::chrono::seconds(10), state_atom::value)
        .receive([](grove::bytes&) {}, [](caf::error&) { std::abort(); });
    state.SetIterationTime(std::chrono::duration<double>(clock_type::now() - start).count());
    stop(*a, {caf::actor_cast<caf::actor>(r), caf::actor_cast<caf::actor>(ma)});
    stop(*b, {caf::actor_cast<caf::actor>(mb)});
  }
  state.SetItemsProcessed(state.iterations() * reads);
  state.counters["tls"] = tls ? 1 : 0;
  state.counters["connect_ms"] = connect_seconds * 1000 / static_cast<double>(state.iterations());
}
BENCHMARK(remote_state_reads)->Arg(0)->Arg(1)->Iterations(scaled(5))->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) { return grove::bench::run_actor_benchmarks(argc, argv); }
