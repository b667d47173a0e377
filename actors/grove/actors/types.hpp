// Registers Grove's message types and error category with an actor system configuration. Call it
// in your config's constructor on every node: CAF 0.17 needs every type that crosses the network
// registered on both sides.
#pragma once

#include <caf/actor_system_config.hpp>

namespace grove::actors {

void register_grove_types(caf::actor_system_config& cfg);

}  // namespace grove::actors
