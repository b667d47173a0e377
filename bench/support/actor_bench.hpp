// What the benchmarks that need actors share: the node configuration and one actor system that
// lives exactly as long as main (an actor system must not be a static).
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "grove/actors/replication.hpp"
#include "grove/actors/types.hpp"
#include "support/json_lines.hpp"

namespace grove::bench {

struct bench_config : caf::actor_system_config {
  bench_config() {
    load<caf::io::middleman>();
    actors::register_grove_types(*this);
    actors::configure_node(*this);
    set("scheduler.max-threads", 2);
  }
};

/// The actor system of the running benchmark program.
inline caf::actor_system*& bench_system() {
  static caf::actor_system* system = nullptr;
  return system;
}

/// main() for benchmark programs with actors.
inline int run_actor_benchmarks(int argc, char** argv) {
  bench_config cfg;
  caf::actor_system system{cfg};
  bench_system() = &system;
  int rc = run_benchmarks(argc, argv);
  bench_system() = nullptr;
  return rc;
}

}  // namespace grove::bench
