// Actor systems for tests: 2 scheduler threads, Grove's types registered, the io middleman loaded.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "grove/actors/types.hpp"

namespace grove::testing {

struct test_config : caf::actor_system_config {
  test_config() {
    load<caf::io::middleman>();
    grove::actors::register_grove_types(*this);
    set("scheduler.max-threads", 2);
    set("middleman.workers", 0);
  }
};

}  // namespace grove::testing
