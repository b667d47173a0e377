// grove::error <-> caf::error. Errors cross actor (and node) boundaries as caf::error in the
// category "grove", with the code and the message as context, and come back as the same
// grove::error on the other side.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <optional>

#include "grove/crdt/error.hpp"

namespace grove::actors {

/// The caf::error carrying `e` (category "grove"; CAF reserves code 0 for "no error").
caf::error to_caf_error(const grove::error& e);
/// The grove::error carried by `e`; errors of other categories (timeouts, dead actors, ...) become
/// errc::unavailable with CAF's rendering as message.
grove::error from_caf_error(const caf::error& e);
/// A write or read whose consistency level was not reached in time: the replicas that took part
/// (this one included), the number the level needed, and the replicas the group has.
struct level_shortfall {
  std::uint32_t acks = 0;
  std::uint32_t needed = 0;
  std::uint32_t replicas = 0;
};
/// The caf::error carrying `e` (errc::unavailable) and the shortfall that caused it.
caf::error to_caf_error(const grove::error& e, const level_shortfall& shortfall);
/// The shortfall carried by the error a replica answered for a failed consistency level.
std::optional<level_shortfall> shortfall_of(const caf::error& e);
/// Lets the actor system render "grove" errors as "grove: code: message".
void add_grove_error_category(caf::actor_system_config& cfg);

}  // namespace grove::actors
