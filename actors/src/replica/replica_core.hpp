// The protocol core of a replication server: everything a replica decides, as a plain class. Each
// call takes one input (a client request, a peer's message, a timer, a storage answer, a change of
// peers) and the current time, and appends what should happen to an `effects` (effects.hpp). The
// CAF actor (replication_server.cpp) and the simulator (tools/grove_sim.cpp) feed it and carry the
// effects out. The jobs are separate classes: delta_stream (own and peers' delta numbers),
// transfers (full states in chunks), anti_entropy (digest rounds), quorum (consistency levels),
// durability (log and snapshots); this class is the startup, the peer table and the wiring.
// replica.hpp documents what a replica promises; docs/protocol.md argues why. CAF-free.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <variant>

#include "anti_entropy.hpp"
#include "delta_stream.hpp"
#include "durability.hpp"
#include "effects.hpp"
#include "grove/actors/crdt_slot.hpp"
#include "pruning.hpp"
#include "quorum.hpp"
#include "transfers.hpp"

namespace grove::actors::replica {

/// What the core needs of replication_options (replica.hpp), without the actor handles.
struct core_options {
  std::string replica_id;
  storage::group_key group;
  timestamp sync_interval{5000};
  timestamp snapshot_interval{60000};
  timestamp digest_interval{20000};
  bool has_storage = false;
  durability_mode durability = durability_mode::none;
  std::size_t max_log_bytes = std::size_t{1} << 20;
  std::size_t max_message_bytes = 256 * 1024;
  /// A transfer that gets no acknowledgement for this long starts over.
  timestamp transfer_timeout{5000};
  /// How often a replica whose state names incarnations of its replica id that went before it asks
  /// its peers whether it may retire them (pruning.hpp), and how long a retired marker lives.
  timestamp prune_interval{20000};
  timestamp retired_lifetime{std::chrono::hours(240)};
  double drop_deltas = 0.0;
  std::uint64_t drop_seed = 1;
};

class replica_core {
public:
  /// `incarnation`: a fresh "replica_id@random" for this start.
  replica_core(core_options opts, std::string incarnation, slot_factory make_slot);

  replica_core(const replica_core&) = delete;
  replica_core& operator=(const replica_core&) = delete;

  // -- lifecycle ------------------------------------------------------------------------------

  /// Loads the stored state and the group's replica ids (blocking storage requests) and then joins
  /// the group (effects.join).
  void start(timestamp now, effects& out);
  /// The answer to storage request `id`.
  void on_storage_done(std::uint64_t id, storage_result result, timestamp now, effects& out);
  /// The replica stops (an exit message): the final snapshot goes to the store (fire and forget),
  /// unless the group was dropped.
  void stop(effects& out);
  /// The group was dropped everywhere: waiting requests fail, the stored state is erased, then the
  /// replica stops (effects.stop).
  void drop(effects& out);

  // -- clients --------------------------------------------------------------------------------

  /// How a mutation is answered: now (the caller answers done), or later (a client_reply with the
  /// request's id follows, after its delta is logged).
  enum class answer : std::uint8_t { now, later };

  /// A mutation reads `now` only when it arms a digest round (the first change after a quiet time).
  expected<answer> mutate(const crdt::operation& op, request_id id, const input_time& now, effects& out);
  expected<answer> mutate(const local_mutation& m, request_id id, const input_time& now, effects& out);
  /// What mutate_each refused: how many operations, and the last one's error.
  struct refusals {
    std::uint64_t count = 0;
    std::optional<error> last;
  };
  /// Operations a mutation_writer queued, applied one by one as that many one-way mutations would
  /// be: a refused one loses only itself. Nobody waits for them (with durability log they are
  /// logged under `id` like any mutation).
  refusals mutate_each(const std::vector<crdt::operation>& ops, request_id id, const input_time& now, effects& out);
  /// A batch with a consistency level: applied whole or refused whole; the count now, or nothing
  /// (a client_reply follows once it is logged and its level's replicas merged it).
  expected<std::optional<replica_count>> write(const write_request& w, request_id id, timestamp now, effects& out);
  /// A read with a consistency level: the result now, or nothing (a client_reply follows).
  std::optional<read_result> read(const consistency& level, request_id id, timestamp now, effects& out);
  /// Sends the pending delta now (logged deltas first with durability log).
  void broadcast(timestamp now, effects& out);
  /// Saves the state now: true when there is nothing to wait for (no storage), else a
  /// client_reply with `id` follows.
  bool snapshot(request_id id, timestamp now, effects& out);

  std::shared_ptr<const bytes> state();
  /// The value the replica works on (for checks that know its type, such as the simulator's).
  const crdt_slot& slot() const { return *slot_; }
  std::optional<std::uint64_t> size() const { return slot_->size(); }
  std::string type_name() const { return slot_->type_name(); }
  replica_stats stats() const;
  const std::string& incarnation() const { return id_.self; }
  const std::string& group_text() const { return id_.group; }
  /// Whether a blocking storage request is outstanding (the replica takes no other input then).
  bool blocked() const { return blocking_ > 0; }
  bool dropped() const { return dropped_; }

  /// Whether anyone subscribed to changes (they get the new state with each sync).
  void set_subscribers(bool any, timestamp now, effects& out);

  // -- peers (from membership) ----------------------------------------------------------------

  /// A peer appeared. `refused_before`: this replica refused messages of it before it knew it as
  /// a peer (its greeting among them), so it is asked for its state.
  void peer_up(peer_id peer, bool remote, bool refused_before, timestamp now, effects& out);
  /// Replica ids membership knows the group to have (members, nodes that host every group): each
  /// counts from now on, also while it is down, and is kept in the store.
  void replicas_known(const std::vector<std::string>& ids, effects& out);
  /// The peer left the group (or its node is gone).
  void peer_down(peer_id peer, timestamp now, effects& out);
  bool is_peer(peer_id peer) const { return peers_.count(peer) > 0; }
  /// A replica-to-replica message from an actor that is no peer: ignored and counted.
  void refuse() { ++stats_.refused; }
  /// Something went wrong that the replica survives (an error message it was sent, say): logged
  /// and counted in stats().errors.
  void report(std::string problem, effects& out);

  // -- peers' messages (the sender must be a peer; see is_peer) --------------------------------

  void receive(peer_id from, delta_message& m, timestamp now, effects& out);
  void receive(peer_id from, state_chunk& m, timestamp now, effects& out);
  void receive(peer_id from, const chunk_ack& m, timestamp now, effects& out);
  void receive(peer_id from, const digest_message& m, timestamp now, effects& out);
  void receive(peer_id from, const state_request& m, timestamp now, effects& out);
  void receive(peer_id from, const deltas_request& m, timestamp now, effects& out);
  void receive(peer_id from, const delta_ack& m, timestamp now, effects& out);
  void receive(peer_id from, const read_request& m, timestamp now, effects& out);
  void receive(peer_id from, const retire_query& m, timestamp now, effects& out);
  void receive(peer_id from, const retire_answer& m, timestamp now, effects& out);

  // -- timers ---------------------------------------------------------------------------------

  void on_timer(timer_kind kind, std::uint64_t id, timestamp now, effects& out);

private:
  // Storage requests in flight, by id: what their answer continues.
  struct load_group {};
  struct load_replicas {
    storage_result group;  // merged once the group's replica ids are known too
  };
  struct log_append {
    std::uint64_t seq = 0;  // the log entry
  };
  struct save_snapshot {
    std::optional<request_id> reply;
  };
  struct erase_dropped {};
  using pending_storage = std::variant<load_group, load_replicas, log_append, save_snapshot, erase_dropped>;

  void request_storage(storage_request r, pending_storage what, effects& out);
  void request_storage_unanswered(storage_request r, effects& out);
  void restore(storage_result& group, effects& out);
  void know_replica(const std::string& replica_id, effects& out);
  void save_replicas(effects& out);

  void mark_changed(const input_time& now, effects& out);
  void arm_sync(effects& out);
  void arm_snapshot(effects& out);
  void arm_digest(const input_time& now, effects& out);
  std::uint64_t checksum();
  std::vector<merged_through> merged_summary() const;
  std::vector<std::string> member_origins() const;
  source_fn state_source_fn();
  void send_state(peer_id peer, std::optional<std::uint64_t> read, bool asked, effects& out);
  void arm_transfer_check(effects& out);
  bool holds_nothing();
  bool peers_in_sync() const;
  bool peers_lag() const;
  std::vector<peer_id> digest_targets(timestamp now) const;
  bool forget_peer(peer_id peer);

  bool note_origin(peer_id from, const std::string& origin, effects& out);
  void drop_peer(peer_id peer, const std::string& why, effects& out);
  bool merge_remote(peer_id from, bytes_view encoded, const char* what, timestamp now, effects& out);
  void acknowledge_deltas(peer_id to, const std::string& origin, effects& out);
  void ask_for_state(peer_id peer, const std::string& origin, effects& out);
  void ask_for_deltas(peer_id peer, const std::string& origin, std::uint64_t first, effects& out);
  void resend_deltas(peer_id peer, std::uint64_t first, effects& out);

  expected<answer> acknowledge(request_id id, const input_time& now, effects& out, std::uint64_t mutations = 1);
  void send_delta(const bytes& delta, effects& out);
  void broadcast_delta(effects& out);
  void notify_subscribers(effects& out);
  void flush_log(effects& out);
  void finish_append(std::uint64_t seq, const status& outcome, effects& out);
  void answer_logged(std::vector<pending_ack>& acks, const status& outcome, effects& out);
  void start_snapshot(std::optional<request_id> reply, effects& out);
  void finish_snapshot(const save_snapshot& s, const status& outcome, effects& out);
  void compact_if_due(effects& out);
  void digest_round(timestamp now, effects& out);
  void internal_change(timestamp now, effects& out);
  void prune(timestamp now, effects& out);
  bool try_retire(const std::string& origin, timestamp now, effects& out);

  core_options opts_;
  identity id_;
  slot_factory make_slot_;
  std::unique_ptr<crdt_slot> slot_;
  peer_table peers_;
  delta_stream stream_;
  transfers transfers_;
  anti_entropy anti_entropy_;
  quorum quorum_;
  durability durability_;
  pruning pruning_;
  std::map<std::uint64_t, pending_storage> storage_pending_;
  std::uint64_t next_storage_id_ = 0;
  int blocking_ = 0;
  bool dropped_ = false;
  bool stopped_ = false;
  // Timers armed (one pending each at most).
  bool sync_armed_ = false;
  bool snapshot_armed_ = false;
  bool transfer_check_armed_ = false;
  bool has_subscribers_ = false;
  bool changed_since_notify_ = false;
  // The encoded state and its checksum, made once per version (any change resets them).
  std::shared_ptr<const bytes> state_cache_;
  bytes empty_state_;  // the encoded state of a replica that holds nothing (owners are not encoded)
  std::optional<std::uint64_t> checksum_cache_;
  std::mt19937_64 drop_rng_;
  replica_stats stats_;
};

}  // namespace grove::actors::replica
