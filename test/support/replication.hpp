// Helpers for replication tests: blocking calls to replicas and waiting for a condition with a
// deadline (never sleep-and-hope).
#pragma once

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/replication.hpp"

namespace grove::testing {

using namespace std::chrono_literals;

/// Polls `condition` every 10 ms until it holds or `deadline` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline = 20s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

/// Whether `condition` holds at every check (every 20 ms) for `period`: for what must never
/// happen (an intruder getting in), where one check at one instant proves little.
inline bool holds_throughout(const std::function<bool()>& condition, std::chrono::milliseconds period = 1s) {
  auto until = std::chrono::steady_clock::now() + period;
  do {
    if (!condition()) return false;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < until);
  return true;
}

inline grove::status mutate(caf::actor_system& sys, const actors::replica_actor& r, crdt::operation op) {
  caf::scoped_actor self{sys};
  grove::status result;
  self->request(r, 10s, actors::mutate_atom::value, std::move(op))
    .receive([](actors::done_atom) {}, [&](caf::error& e) { result = actors::from_caf_error(e); });
  return result;
}

/// The replica's encoded state (empty when it does not answer).
inline bytes state_of(caf::actor_system& sys, const actors::replica_actor& r) {
  caf::scoped_actor self{sys};
  bytes out;
  self->request(r, 10s, actors::state_atom::value).receive([&](bytes& b) { out = std::move(b); }, [](caf::error&) {});
  return out;
}

template <class T>
std::optional<T> value_of(caf::actor_system& sys, const actors::replica_actor& r) {
  auto decoded = crdt::decode<T>(state_of(sys, r));
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

inline actors::replica_stats stats_of(caf::actor_system& sys, const actors::replica_actor& r) {
  caf::scoped_actor self{sys};
  actors::replica_stats out;
  self->request(r, 10s, actors::stats_atom::value)
    .receive([&](actors::replica_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

/// Whether every replica holds the same, non-empty encoded state.
inline bool same_state(const std::vector<std::pair<caf::actor_system*, actors::replica_actor>>& replicas) {
  bytes first;
  for (auto& [sys, r] : replicas) {
    auto s = state_of(*sys, r);
    if (s.empty()) return false;
    if (first.empty())
      first = s;
    else if (s != first)
      return false;
  }
  return true;
}

/// Stops actors and waits until they are gone.
inline void stop_all(caf::actor_system& sys, const std::vector<caf::actor>& actors) {
  caf::scoped_actor self{sys};
  for (auto& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& a : actors) self->wait_for(a);
}

}  // namespace grove::testing
