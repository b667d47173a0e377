// The storage actor (architecture §7): saves and loads from one pipelining requester (loads from an
// actor and from a thread) and loads from a requester that waits for each answer, on the
// in-memory backend; durable saves on the
// on-disk backend from one requester at a time and from 8 concurrent requesters (group commit).
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "grove/actors/storage_actor.hpp"
#include "grove/actors/storage_client.hpp"
#include "grove/actors/types.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/actor_bench.hpp"
#include "support/fixtures.hpp"
#include "support/scale.hpp"

using namespace grove::actors;
using namespace grove::storage;
using grove::bench::counter_state;
using grove::bench::group_count;
using grove::bench::groups;

namespace {

using grove::bench::bench_config;
using grove::bench::scaled;

caf::actor_system& sys() { return *grove::bench::bench_system(); }

storage_actor ets_actor() {
  destroy_ets("actor-bench");
  ets_options opts;
  opts.table = "actor-bench";
  return spawn_storage_actor(sys(), std::move(*open_ets(opts)));
}

// An ETS-style storage actor that holds every group (saved by `self`).
storage_actor filled_ets_actor(caf::scoped_actor& self) {
  auto actor = ets_actor();
  for (const auto& g : groups()) self->send(actor, save_atom::value, g, counter_state());
  std::size_t saved = 0;
  self->receive_for(saved, groups().size())([](done_atom) {});
  return actor;
}

// One requester sends every save without waiting, then collects the replies.
void actor_save_pipelined(benchmark::State& state) {
  auto actor = ets_actor();
  caf::scoped_actor self{sys()};
  const auto n = static_cast<std::size_t>(scaled(1'000'000));
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) self->send(actor, save_atom::value, groups()[i % group_count], counter_state());
    std::size_t replies = 0;
    self->receive_for(replies, n)([](done_atom) {});
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
BENCHMARK(actor_save_pipelined)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// One requester sends every load without waiting, then takes the answers: an event-based actor
// (thread:0), like the replicas that are the storage actor's requesters (and like the Erlang
// process on the other side of bench/peer), or a thread outside the scheduler (thread:1, a scoped
// actor), whose every message to an idle actor on the scheduler has to wake a worker.
void actor_load_pipelined(benchmark::State& state) {
  caf::scoped_actor self{sys()};
  auto actor = filled_ets_actor(self);
  const auto n = static_cast<std::size_t>(scaled(1'000'000));
  auto send_all = [=](auto* requester) {
    for (std::size_t i = 0; i < n; ++i) requester->send(actor, load_atom::value, groups()[i % group_count]);
  };
  for (auto _ : state) {
    if (state.range(0) == 1) {
      send_all(self.ptr());
      std::size_t replies = 0;
      self->receive_for(replies, n)([](load_result&) {});
      continue;
    }
    auto requester = sys().spawn([=](caf::event_based_actor* requester_self) -> caf::behavior {
      send_all(requester_self);
      auto replies = std::make_shared<std::size_t>(0);
      return {[=](load_result&) {
        if (++*replies == n) requester_self->quit();
      }};
    });
    self->wait_for(requester);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
BENCHMARK(actor_load_pipelined)
  ->ArgName("thread")
  ->Arg(0)
  ->Arg(1)
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

// An event-based requester that sends the next load when the answer to the last one came.
void actor_load_one_at_a_time(benchmark::State& state) {
  caf::scoped_actor self{sys()};
  auto actor = filled_ets_actor(self);
  const auto n = static_cast<std::size_t>(scaled(1'000'000));
  for (auto _ : state) {
    auto client = sys().spawn([=](caf::event_based_actor* client_self) {
      auto next = std::make_shared<std::function<void(std::size_t)>>();
      *next = [=](std::size_t i) {
        if (i == n) {
          *next = nullptr;  // it holds itself: let the client go
          return client_self->quit();
        }
        client_self->request(actor, caf::infinite, load_atom::value, groups()[i % group_count]).then([=](load_result&) {
          (*next)(i + 1);
        });
      };
      (*next)(0);
    });
    self->wait_for(client);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
BENCHMARK(actor_load_one_at_a_time)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Durable saves through the actor: `requesters` threads, each waiting for every reply, 2,000 saves
// in all. With several requesters, group commit puts their saves in shared transactions.
void actor_durable_save(benchmark::State& state) {
  auto path = grove::bench::scratch_dir() + "/grove-actor-bench-" + std::to_string(::getpid()) + ".grove";
  dets_options opts;
  opts.file = path;
  opts.durable = true;
  auto actor = spawn_storage_actor(sys(), std::move(*open_dets(opts)));
  const int requesters = static_cast<int>(state.range(0));
  const auto total = static_cast<int>(scaled(2'000));
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int t = 0; t < requesters; ++t) {
      threads.emplace_back([&, t] {
        auto client = make_storage_client(sys(), actor);
        for (int i = t; i < total; i += requesters)
          (void)client->save(groups()[static_cast<std::size_t>(i)], counter_state());
      });
    }
    for (auto& t : threads) t.join();
  }
  caf::scoped_actor self{sys()};
  self->request(actor, std::chrono::seconds(10), stats_atom::value)
    .receive([&](storage_stats& s) { state.counters["commits"] = static_cast<double>(s.commits); }, [](caf::error&) {});
  state.SetItemsProcessed(state.iterations() * total);
  state.counters["requesters"] = requesters;
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  self->wait_for(actor);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-lock");
}
BENCHMARK(actor_durable_save)->Arg(1)->Arg(8)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return grove::bench::run_actor_benchmarks(argc, argv); }
