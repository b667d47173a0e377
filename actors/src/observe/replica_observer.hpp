// What a replica's shell reports as it carries out the core's effects (replication_server.cpp):
// the node's metrics (metrics.hpp) and the progress of large full-state transfers (node_event.hpp).
// Kept apart from the shell, which calls one function per observation, and apart from the core,
// which decides nothing here. One per replica, made only when the replica has metrics or an events
// actor to report to.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "grove/actors/metrics.hpp"
#include "grove/actors/node_event.hpp"
#include "replica/effects.hpp"

namespace grove::actors::detail {

/// Transfers of at least this many chunks report their progress (at the first chunk, every tenth
/// of the chunks and the last): 2 MiB and more with the default max_message_bytes.
constexpr std::uint32_t progress_min_chunks = 8;

class replica_observer {
public:
  /// Null when there is nothing to report to.
  static std::unique_ptr<replica_observer> make(std::shared_ptr<node_metrics> metrics, caf::actor events,
                                                std::string group);

  replica_observer(std::shared_ptr<node_metrics> metrics, caf::actor events, std::string group);
  ~replica_observer();  // the replica is gone: no longer hosted, its log no longer counted
  replica_observer(const replica_observer&) = delete;
  replica_observer& operator=(const replica_observer&) = delete;

  // -- clients ----------------------------------------------------------------------------------
  void operation(node_metrics::operation op, consistency_level level, std::uint64_t n = 1);
  /// A request at a consistency level (a write or a read) failed with `e`.
  void failed(node_metrics::operation op, const error& e);
  /// A message from an actor that is not a peer (or not membership) was ignored.
  void refused();

  // -- peers --------------------------------------------------------------------------------------
  void sent(const replica::peer_message& m);
  /// A digest went to membership for the replicas on `nodes` other nodes.
  void relayed(const digest_message& m, std::size_t nodes);
  void received(const delta_message& m);
  void received(const state_chunk& m);
  void received(const digest_message& m);
  /// A timer fired and the core answered with `out` (not yet carried out): a digest timer whose
  /// effects hold a digest is a round of anti-entropy.
  void timer_fired(replica::timer_kind kind, const replica::effects& out);

  // -- storage ------------------------------------------------------------------------------------
  /// Before the request goes (it is moved away then).
  void storage_requested(const replica::storage_request& r);
  /// Its answer, before the core gets it.
  void storage_done(std::uint64_t id, const replica::storage_result& r);

private:
  // A write in flight: when it went, whether it saves a snapshot, and its operations on this
  // group's log, in order (appends with their bytes, truncations, erases).
  struct log_change {
    storage::write_op::kind what = storage::write_op::kind::append;
    std::uint64_t seq = 0;
    std::uint64_t bytes = 0;
  };
  struct pending_write {
    std::chrono::steady_clock::time_point sent;
    bool snapshot = false;
    std::vector<log_change> changes;
  };

  void chunk_progress(const state_chunk& m, const char* direction);
  void log_changed(std::int64_t entries, std::int64_t bytes);
  void apply(const pending_write& w);

  std::shared_ptr<node_metrics> metrics_;
  caf::actor events_;
  std::string group_;
  std::map<std::uint64_t, pending_write> writes_;  // storage requests in flight, by id
  std::set<std::uint64_t> group_loads_;            // loads of this group in flight
  std::map<std::uint64_t, std::uint64_t> log_;     // this group's log entries: number -> bytes
  std::uint64_t log_bytes_ = 0;
};

}  // namespace grove::actors::detail
