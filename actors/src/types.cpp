#include "grove/actors/types.hpp"

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/storage_actor.hpp"

namespace grove::actors {

void register_grove_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<storage::group>("grove.group");
  cfg.add_message_type<std::vector<storage::group>>("grove.group_list");
  cfg.add_message_type<load_result>("grove.load_result");
  cfg.add_message_type<storage_stats>("grove.storage_stats");
  cfg.add_message_type<storage_actor>("grove.storage_actor");
  add_grove_error_category(cfg);
}

}  // namespace grove::actors
