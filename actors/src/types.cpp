#include "grove/actors/types.hpp"

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/node_event.hpp"
#include "grove/actors/replication.hpp"
#include "grove/actors/storage_actor.hpp"

namespace grove::actors {

void register_grove_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<storage::group_key>("grove.group");
  cfg.add_message_type<std::vector<storage::group_key>>("grove.group_list");
  cfg.add_message_type<storage::group_value>("grove.group_value");
  cfg.add_message_type<std::vector<storage::group_value>>("grove.group_values");
  cfg.add_message_type<storage::log_entry>("grove.log_entry");
  cfg.add_message_type<std::vector<storage::log_entry>>("grove.log_entries");
  cfg.add_message_type<storage::write_op>("grove.write_op");
  cfg.add_message_type<std::vector<storage::write_op>>("grove.write_ops");
  cfg.add_message_type<load_result>("grove.load_result");
  cfg.add_message_type<storage_stats>("grove.storage_stats");
  cfg.add_message_type<storage_actor>("grove.storage_actor");
  cfg.add_message_type<crdt::operation>("grove.operation");
  // The replication protocol (protocol.hpp).
  cfg.add_message_type<merged_through>("grove.merged_through");
  cfg.add_message_type<std::vector<merged_through>>("grove.merged_list");
  cfg.add_message_type<delta_message>("grove.delta");
  cfg.add_message_type<state_chunk>("grove.state_chunk");
  cfg.add_message_type<chunk_ack>("grove.chunk_ack");
  cfg.add_message_type<digest_message>("grove.digest");
  cfg.add_message_type<state_request>("grove.state_request");
  cfg.add_message_type<deltas_request>("grove.deltas_request");
  cfg.add_message_type<delta_ack>("grove.delta_ack");
  cfg.add_message_type<read_request>("grove.read_request");
  cfg.add_message_type<retire_query>("grove.retire_query");
  cfg.add_message_type<retire_answer>("grove.retire_answer");
  cfg.add_message_type<replica_stats>("grove.replica_stats");
  cfg.add_message_type<consistency>("grove.consistency");
  cfg.add_message_type<write_request>("grove.write_request");
  cfg.add_message_type<replica_count>("grove.replica_count");
  cfg.add_message_type<read_result>("grove.read_result");
  // Membership, node to node (protocol.hpp).
  cfg.add_message_type<version_probe>("grove.version_probe");
  cfg.add_message_type<auth_hello>("grove.auth_hello");
  cfg.add_message_type<auth_challenge>("grove.auth_challenge");
  cfg.add_message_type<auth_proof>("grove.auth_proof");
  cfg.add_message_type<member_entry>("grove.member");
  cfg.add_message_type<std::vector<member_entry>>("grove.member_list");
  cfg.add_message_type<hello_message>("grove.hello");
  cfg.add_message_type<member_change_message>("grove.member_change");
  cfg.add_message_type<tombstone>("grove.tombstone");
  cfg.add_message_type<std::vector<tombstone>>("grove.tombstones");
  cfg.add_message_type<relayed_digest>("grove.relayed_digest");
  cfg.add_message_type<std::vector<relayed_digest>>("grove.relayed_digests");
  cfg.add_message_type<liveness_probe>("grove.liveness_probe");
  cfg.add_message_type<liveness_ack>("grove.liveness_ack");
  cfg.add_message_type<node_unreachable_message>("grove.node_unreachable");
  cfg.add_message_type<membership_stats>("grove.membership_stats");
  cfg.add_message_type<std::vector<caf::strong_actor_ptr>>("grove.actor_list");
  cfg.add_message_type<std::vector<caf::actor>>("grove.node_list");
  cfg.add_message_type<std::vector<std::string>>("grove.string_list");
  cfg.add_message_type<replica_actor>("grove.replica_actor");
  cfg.add_message_type<membership_actor>("grove.membership_actor");
  cfg.add_message_type<node_event>("grove.node_event");
  add_grove_error_category(cfg);
}

}  // namespace grove::actors
