// The values a replica's clients send and get back: consistency levels, writes, counts, reads,
// and the replica's counters. CAF-free (the protocol core and the simulator use them too); the
// replica's actor interface is in replica.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/operation.hpp"

namespace grove::actors {

/// How a replica acknowledges mutations (replica.hpp, "Durability").
enum class durability_mode : std::uint8_t { none, log };

/// How many replicas of the group a write or read involves, this one included (Akka's
/// WriteLocal/ReadLocal, WriteMajority, WriteAll). The group's replicas are this one and every
/// replica (by replica id) that membership announced since this one started: a replica whose node
/// is down or unreachable still counts, and is missing from the count of those that took part.
enum class consistency_level : std::uint8_t { local, majority, all };

/// A level and how long to wait for the replicas it needs (not used for local).
struct consistency {
  consistency_level level = consistency_level::local;
  std::uint32_t timeout_ms = 5000;
};

/// Operations applied in order as one mutation: all of them, or none if one is refused.
struct write_request {
  std::vector<crdt::operation> ops;
  consistency level;
};

/// How many replicas took part (merged a write, or gave their state to a read), this one
/// included, of the `replicas` the group has.
struct replica_count {
  std::uint32_t acks = 0;
  std::uint32_t replicas = 0;
};

/// A read's answer: the state merged from the replicas that answered.
struct read_result {
  bytes state;
  replica_count count;
};

/// What a replica has done since it started.
struct replica_stats {
  std::uint64_t mutations = 0;
  std::uint64_t deltas_sent = 0;
  std::uint64_t deltas_received = 0;
  std::uint64_t deltas_dropped = 0;  // by the loss test hook
  std::uint64_t gaps = 0;            // sequence gaps seen (each asks for the missing deltas)
  std::uint64_t deltas_resent = 0;   // own deltas sent again because a peer lacked them
  std::uint64_t digests_sent = 0;
  std::uint64_t origins = 0;  // origins (replica incarnations) whose deltas it tracks
  std::uint64_t states_sent = 0;
  std::uint64_t states_received = 0;
  std::uint64_t snapshots = 0;       // snapshots the storage actor confirmed
  std::uint64_t snapshot_ticks = 0;  // snapshot timer firings (with or without a save)
  std::uint64_t errors = 0;
  std::uint64_t peers = 0;
  std::uint64_t refused = 0;                // replica-to-replica messages from non-members, ignored
  std::uint64_t log_appends = 0;            // log entries the storage actor confirmed (durability log)
  std::uint64_t early_snapshots = 0;        // snapshots started because the log passed its bound
  std::uint64_t replicas = 0;               // the group's replicas as consistency levels count them
  std::uint64_t acks_received = 0;          // peers' acknowledgements of this replica's deltas
  std::uint64_t chunks_in_flight_peak = 0;  // most chunks of a full state unacknowledged at once
  std::uint64_t retired = 0;                // incarnations of its replica id it retired (pruning)
};

template <class Inspector>
auto inspect(Inspector& f, consistency& x) {
  return f(x.level, x.timeout_ms);
}
template <class Inspector>
auto inspect(Inspector& f, write_request& x) {
  return f(x.ops, x.level);
}
template <class Inspector>
auto inspect(Inspector& f, replica_count& x) {
  return f(x.acks, x.replicas);
}
template <class Inspector>
auto inspect(Inspector& f, read_result& x) {
  return f(x.state, x.count);
}
template <class Inspector>
auto inspect(Inspector& f, replica_stats& x) {
  return f(x.mutations, x.deltas_sent, x.deltas_received, x.deltas_dropped, x.gaps, x.states_sent, x.states_received,
           x.snapshots, x.snapshot_ticks, x.errors, x.peers, x.refused, x.log_appends, x.early_snapshots,
           x.deltas_resent, x.digests_sent, x.origins, x.replicas, x.acks_received, x.chunks_in_flight_peak, x.retired);
}

}  // namespace grove::actors
