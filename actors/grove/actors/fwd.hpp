// Forward declarations of grove::actors' types, for headers that only name them. Where each lives:
//   storage_actor.hpp  storage_actor, load_result, storage_stats, spawn_storage_actor
//   replica.hpp        replica_actor, replication_options, delta_message, state_chunk,
//                      digest_message, replica_stats, spawn_replica
//   membership.hpp     membership_actor, membership_options, member_entry, spawn_membership
//   node.hpp           listen, connect, configure_node
//   shutdown.hpp       stop_node
//   crdt_slot.hpp      crdt_slot, local_mutation (CAF-free)
//   tls.hpp            tls_options, enable_tls (CAF-free)
// replication.hpp includes replica.hpp, membership.hpp and node.hpp.
#pragma once

namespace grove::actors {

struct load_result;
struct storage_stats;
struct replication_options;
struct delta_message;
struct state_chunk;
struct digest_message;
struct replica_stats;
struct membership_options;
struct member_entry;
struct local_mutation;
struct tls_options;
class crdt_slot;

}  // namespace grove::actors
