// storage_client: the backend interface over a storage actor, for code that is not an actor (and
// for the contract tests, which run the same suite through the actor). Each call is a blocking
// request with a timeout; errors come back as the backend's grove::error, and a timeout or a dead
// actor as errc::unavailable.
#pragma once

#include <chrono>
#include <memory>

#include "grove/actors/storage_actor.hpp"

namespace grove::actors {

/// A backend whose calls are requests to `actor`. close() only stops this client: the actor and
/// its backend keep running for others.
std::unique_ptr<storage::backend> make_storage_client(caf::actor_system& sys, storage_actor actor,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace grove::actors
