// The storage actor: owns one backend and serves the storage behaviour as messages, to local and
// remote actors (the Akka "durable store" split: replication servers never do I/O themselves).
//
// Every request is answered: with its result, or with an error (category "grove"; convert with
// from_caf_error). The actor keeps running after errors.
//
// Group commit (with a backend that may block, see below): saves and writes (log appends,
// snapshots with the truncation they allow) that arrive while a commit is pending join one backend
// transaction (backend::write), so the replicas of a node that log their deltas share one sync. A
// requester is answered when its save is as durable as the backend promises (on disk for a durable
// DETS-style backend). Each request gets its own outcome: when the shared transaction fails (one
// value too large, say), every request is retried alone, so one bad save fails only its own
// requester. A batch request (a vector of group values) is all or nothing. A load, erase, list or
// sync commits what is waiting first, so a load never serves a value that its commit would refuse.
// With a backend that never blocks there is no wait to share: each save or write runs when it
// arrives and is answered at once.
//
// With a backend that may block (backend::may_block(): the DETS-style one) the actor runs on a
// thread of its own (spawned detached), so a slow disk never blocks CAF's scheduler; with one that
// never does (the ETS-style one) it runs on the scheduler, where a request costs no thread switch.
// On an exit message it commits what is waiting, answers those requesters, and closes the backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "grove/actors/atoms.hpp"
#include "grove/actors/metrics.hpp"
#include "grove/storage/backend.hpp"

namespace grove::storage {

/// CAF serialization of a group (it may come from a remote node: backends validate it).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_key& x) {
  return f(caf::meta::type_name("grove.group"), x.kind, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_value& x) {
  return f(caf::meta::type_name("grove.group_value"), x.key, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("grove.log_entry"), x.seq, x.delta);
}

inline std::string to_string(write_op::kind k) {
  switch (k) {
    case write_op::kind::save: return "save";
    case write_op::kind::append: return "append";
    case write_op::kind::truncate: return "truncate";
    case write_op::kind::erase: return "erase";
  }
  return "kind " + std::to_string(static_cast<int>(k));  // from a peer: backends refuse it
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_op& x) {
  return f(caf::meta::type_name("grove.write_op"), x.what, x.key, x.value, x.seq);
}

}  // namespace grove::storage

namespace grove::actors {

using save_atom = caf::atom_constant<caf::atom("grv_save")>;
using load_atom = caf::atom_constant<caf::atom("grv_load")>;
using erase_atom = caf::atom_constant<caf::atom("grv_erase")>;
using list_atom = caf::atom_constant<caf::atom("grv_list")>;
using flush_atom = caf::atom_constant<caf::atom("grv_flush")>;
using write_atom = caf::atom_constant<caf::atom("grv_write")>;

/// Answer to a load: the group's snapshot (`found` is false when it has none) and its log entries
/// after the snapshot, by number. The group's value is the snapshot merged with every entry.
struct load_result {
  bool found = false;
  bytes value;
  std::vector<storage::log_entry> log;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_result& x) {
  return f(caf::meta::type_name("grove.load_result"), x.found, x.value, x.log);
}

/// What the storage actor has done since it started.
struct storage_stats {
  std::uint64_t saves = 0;           // snapshots saved (save operations, alone or in writes)
  std::uint64_t appends = 0;         // log entries appended
  std::uint64_t loads = 0;           // load requests
  std::uint64_t commits = 0;         // backend transactions for saves and writes (write calls)
  std::uint64_t bytes_saved = 0;     // value bytes of all snapshots saved
  std::uint64_t bytes_appended = 0;  // delta bytes of all log entries appended
  std::uint64_t errors = 0;          // requests answered with an error
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_stats& x) {
  return f(caf::meta::type_name("grove.storage_stats"), x.saves, x.appends, x.loads, x.commits, x.bytes_saved,
           x.bytes_appended, x.errors);
}

/// The storage actor's interface.
using storage_actor = caf::typed_actor<
  // Saves the encoded state of a group.
  caf::replies_to<save_atom, storage::group_key, bytes>::with<done_atom>,
  // Saves several groups in one transaction: all of them or, with an error, none.
  caf::replies_to<save_atom, std::vector<storage::group_value>>::with<done_atom>,
  // Applies the operations (backend::write) in order, in one transaction: all or, with an error,
  // none. Answered when they are as durable as the backend promises.
  caf::replies_to<write_atom, std::vector<storage::write_op>>::with<done_atom>,
  // Loads a group's snapshot and log.
  caf::replies_to<load_atom, storage::group_key>::with<load_result>,
  // Removes a group, snapshot and log (succeeds when it is not stored).
  caf::replies_to<erase_atom, storage::group_key>::with<done_atom>,
  // Every stored group, sorted.
  caf::replies_to<list_atom>::with<std::vector<storage::group_key>>,
  // Makes everything saved so far durable.
  caf::replies_to<flush_atom>::with<done_atom>, caf::replies_to<stats_atom>::with<storage_stats>>;

/// How a storage actor commits, and what it counts.
struct storage_actor_options {
  /// Group commit window: with a backend that may block, the first write that arrives while none
  /// waits is committed this long after it arrived, with every write that came meanwhile. Zero (the
  /// default) commits once the writes already in the mailbox are in. A window trades latency for
  /// syncs: on a durable store each commit costs one sync and at least one disk block (4 KiB), so
  /// at 200 durable writes/s a 25 ms window puts about 5 writes into each (bench/durability_bench).
  std::chrono::milliseconds commit_delay{0};
  /// Where it counts its commits and the bytes it writes (optional; node.hpp sets it).
  std::shared_ptr<node_metrics> metrics;
};

/// Spawns a storage actor that owns `backend` (must not be null).
///
/// Shutdown: with a backend that may block, the actor runs on a thread of its own, and CAF 0.17's
/// ~actor_system waits for that thread, which ends only when the actor object is destroyed, that
/// is when the last handle to it is gone. So stop it (an exit message) and drop every handle
/// (storage_actor, the copies in replication_options, actor_cast results) before the actor system
/// is destroyed, or the destructor never returns. stop_node (shutdown.hpp) does the stopping in
/// the right order.
storage_actor spawn_storage_actor(caf::actor_system& sys, std::unique_ptr<storage::backend> backend,
                                  storage_actor_options options = {});

/// Options with a group commit window of `delay` and nothing else set.
inline storage_actor_options with_commit_delay(std::chrono::milliseconds delay) {
  storage_actor_options o;
  o.commit_delay = delay;
  return o;
}

}  // namespace grove::actors
