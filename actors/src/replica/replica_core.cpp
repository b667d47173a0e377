#include "replica_core.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "../incarnation.hpp"
#include "grove/crdt/escape.hpp"

namespace grove::actors::replica {

replica_core::replica_core(core_options opts, std::string incarnation, slot_factory make_slot)
    : opts_(std::move(opts)),
      id_{opts_.group.to_string(), std::move(incarnation)},
      make_slot_(std::move(make_slot)),
      slot_(make_slot_(id_.self)),
      stream_(opts_.max_message_bytes),
      transfers_(id_, opts_.max_message_bytes),
      anti_entropy_(opts_.digest_interval),
      quorum_(opts_.replica_id),
      durability_(opts_.durability, opts_.has_storage, opts_.max_log_bytes),
      pruning_(opts_.replica_id, opts_.prune_interval),
      drop_rng_(opts_.drop_seed) {
  empty_state_ = slot_->state();
}

// -- lifecycle ----------------------------------------------------------------------------------

void replica_core::request_storage(storage_request r, pending_storage what, effects& out) {
  r.id = ++next_storage_id_;
  if (r.blocking) ++blocking_;
  storage_pending_.emplace(r.id, std::move(what));
  out.storage.push_back(std::move(r));
}

void replica_core::request_storage_unanswered(storage_request r, effects& out) {
  r.id = ++next_storage_id_;
  r.expects_answer = false;
  out.storage.push_back(std::move(r));
}

// Start with a store: load the group and its replica ids; merge them and join the group. Until
// then the replica handles nothing else. Every start has a fresh incarnation (incarnation.hpp), so
// the dots it makes are new whatever the store held.
void replica_core::start(timestamp, effects& out) {
  if (!opts_.has_storage) {
    out.join = true;
    return;
  }
  storage_request r;
  r.what = storage_request::kind::load;
  r.key = opts_.group;
  r.blocking = true;
  request_storage(std::move(r), load_group{}, out);
}

void replica_core::on_storage_done(std::uint64_t id, storage_result result, timestamp, effects& out) {
  auto it = storage_pending_.find(id);
  if (it == storage_pending_.end()) return;
  auto what = std::move(it->second);
  storage_pending_.erase(it);
  std::visit(
    [&](auto& step) {
      using step_type = std::decay_t<decltype(step)>;
      if constexpr (std::is_same_v<step_type, load_group>) {
        --blocking_;
        if (!result.outcome) {
          report("cannot load the stored state: " + result.outcome.error().to_string(), out);
          out.join = true;
          return;
        }
        storage_request r;
        r.what = storage_request::kind::load;
        r.key = detail::replicas_key(opts_.group);
        r.blocking = true;
        request_storage(std::move(r), load_replicas{std::move(result)}, out);
      } else if constexpr (std::is_same_v<step_type, load_replicas>) {
        --blocking_;
        if (result.outcome && result.found) {
          if (auto ids = detail::decode_replicas(result.value))
            for (const auto& id : *ids) quorum_.saw_replica(id);
          else
            report("the group's replica ids are unreadable: " + ids.error().to_string(), out);
        }
        restore(step.group, out);
        out.join = true;
        pruning_.arm(out);  // what went before this start is looked at once peers are known
      } else if constexpr (std::is_same_v<step_type, log_append>) {
        finish_append(step.seq, result.outcome, out);
      } else if constexpr (std::is_same_v<step_type, save_snapshot>) {
        finish_snapshot(step, result.outcome, out);
      } else if constexpr (std::is_same_v<step_type, erase_dropped>) {
        --blocking_;
        if (!result.outcome)
          report("cannot erase the stored state of the dropped group: " + result.outcome.error().to_string(), out);
        stopped_ = true;
        out.stop = true;
      }
    },
    what);
}

// Merges what the store holds for the group: the snapshot, then each log entry after it. A damaged
// entry is skipped with an error naming the group and the entry; the others still count.
void replica_core::restore(storage_result& group, effects& out) {
  state_cache_.reset();
  checksum_cache_.reset();
  if (group.found) {
    if (auto ok = slot_->merge(group.value); !ok)
      report("the stored state is unreadable, starting without it: " + ok.error().to_string(), out);
  }
  for (const auto& entry : group.log)
    if (auto ok = slot_->merge(entry.delta); !ok)
      report("log entry " + std::to_string(entry.seq) + " of group " + id_.group
               + " is damaged, skipped: " + ok.error().to_string(),
             out);
  durability_.restored(group.found ? group.value.size() : 0, group.log);
}

void replica_core::stop(effects& out) {
  if (stopped_) return;
  stopped_ = true;
  out.stop = true;
  if (!opts_.has_storage || dropped_ || !durability_.changed_since_snapshot()) return;
  storage_request r;
  r.what = storage_request::kind::write;
  r.ops = durability_.snapshot_ops(opts_.group, slot_->state());
  request_storage_unanswered(std::move(r), out);
}

// The group was dropped everywhere: its stored state (snapshot and log) goes, and the replica stops
// without a final snapshot. Writes and reads still waiting fail; nothing else is handled until the
// store has erased the group.
void replica_core::drop(effects& out) {
  if (dropped_) return;
  dropped_ = true;
  quorum_.fail_all(error(errc::not_found, "group " + id_.group + " was dropped"), out);
  if (!opts_.has_storage) {
    out.stop = true;
    return;
  }
  storage_request r;
  r.what = storage_request::kind::write;
  r.ops = {storage::write_op::erase(opts_.group), storage::write_op::erase(detail::replicas_key(opts_.group)),
           storage::write_op::erase(detail::legacy_marker_key(opts_.group))};
  r.blocking = true;
  request_storage(std::move(r), erase_dropped{}, out);
}

// -- state, changes, timers ---------------------------------------------------------------------

void replica_core::report(std::string line, effects& out) {
  ++stats_.errors;
  out.log_lines.push_back("[grove] replica " + id_.self + " of " + id_.group + ": " + line);
}

std::shared_ptr<const bytes> replica_core::state() {
  if (!state_cache_) state_cache_ = std::make_shared<const bytes>(slot_->state());
  return state_cache_;
}

// The codec's trailing checksum covers the whole encoding: equal states, equal checksums.
std::uint64_t replica_core::checksum() {
  if (!checksum_cache_) {
    auto encoded = state();
    std::uint64_t d = 0;
    for (int i = 0; i < 8; ++i)
      d |= static_cast<std::uint64_t>(static_cast<std::uint8_t>((*encoded)[encoded->size() - 8 + i])) << (8 * i);
    checksum_cache_ = d;
  }
  return *checksum_cache_;
}

replica_stats replica_core::stats() const {
  auto out = stats_;
  out.origins = stream_.origins();
  out.replicas = quorum_.group_size();
  out.peers = peers_.size();
  return out;
}

void replica_core::arm_sync(effects& out) {
  if (sync_armed_ || (!slot_->has_delta() && !has_subscribers_)) return;
  sync_armed_ = true;
  out.timers.push_back({timer_kind::sync, opts_.sync_interval, 0});
}

void replica_core::arm_snapshot(effects& out) {
  if (snapshot_armed_ || !opts_.has_storage) return;
  snapshot_armed_ = true;
  out.timers.push_back({timer_kind::snapshot, opts_.snapshot_interval, 0});
}

void replica_core::arm_digest(const input_time& now, effects& out) { anti_entropy_.arm(!peers_.empty(), now, out); }

// After anything that may have changed the state: forget its encoding, and arm what must follow.
void replica_core::mark_changed(const input_time& now, effects& out) {
  durability_.changed();
  changed_since_notify_ = true;
  anti_entropy_.changed();
  state_cache_.reset();
  checksum_cache_.reset();
  for (auto& [peer, p] : peers_) p.in_sync = false;
  pruning_.state_changed();
  pruning_.arm(out);  // a merge can bring in an incarnation that went before this one
  arm_sync(out);
  arm_snapshot(out);
  arm_digest(now, out);
}

void replica_core::set_subscribers(bool any, timestamp, effects& out) {
  has_subscribers_ = any;
  if (any) arm_sync(out);
}

void replica_core::notify_subscribers(effects& out) {
  if (!changed_since_notify_ || !has_subscribers_) return;
  changed_since_notify_ = false;
  out.notify = state();
}

void replica_core::on_timer(timer_kind kind, std::uint64_t id, timestamp now, effects& out) {
  if (dropped_ || stopped_) return;  // a dropped group writes nothing more (its erase is under way)
  switch (kind) {
    case timer_kind::sync:
      sync_armed_ = false;
      broadcast_delta(out);
      notify_subscribers(out);
      return;
    case timer_kind::snapshot:
      snapshot_armed_ = false;
      ++stats_.snapshot_ticks;
      if (!durability_.changed_since_snapshot()) return;
      if (durability_.snapshot_running()) return arm_snapshot(out);  // after the one that runs
      return start_snapshot(std::nullopt, out);
    case timer_kind::digest: return digest_round(now, out);
    case timer_kind::log_flush:
      if (durability_.flush_scheduled()) flush_log(out);
      return;
    case timer_kind::write_deadline: return quorum_.write_deadline(id, peers_, out);
    case timer_kind::read_deadline: return quorum_.read_deadline(id, out);
    case timer_kind::transfer_check:
      transfer_check_armed_ = false;
      transfers_.restart_stalled(state_source_fn(), out, stats_);
      return arm_transfer_check(out);
    case timer_kind::prune_check: pruning_.fired(); return prune(now, out);
  }
}

// -- clients ------------------------------------------------------------------------------------

// Acknowledges mutations that were applied: now, or with durability log once their delta is logged.
expected<replica_core::answer> replica_core::acknowledge(request_id id, const input_time& now, effects& out,
                                                         std::uint64_t mutations) {
  stats_.mutations += mutations;
  mark_changed(now, out);
  if (!durability_.logs()) return answer::now;
  durability_.queue({id, std::nullopt}, out);
  return answer::later;
}

expected<replica_core::answer> replica_core::mutate(const crdt::operation& op, request_id id, const input_time& now,
                                                    effects& out) {
  if (auto ok = slot_->apply(op); !ok) return ok.error();
  return acknowledge(id, now, out);
}

expected<replica_core::answer> replica_core::mutate(const local_mutation& m, request_id id, const input_time& now,
                                                    effects& out) {
  if (auto ok = slot_->apply(m); !ok) return ok.error();
  return acknowledge(id, now, out);
}

replica_core::refusals replica_core::mutate_each(const std::vector<crdt::operation>& ops, request_id id,
                                                 const input_time& now, effects& out) {
  refusals refused;
  for (const auto& op : ops)
    if (auto ok = slot_->apply(op); !ok) {
      ++refused.count;
      refused.last = ok.error();
    }
  if (auto applied = ops.size() - refused.count; applied > 0) (void)acknowledge(id, now, out, applied);
  return refused;
}

expected<std::optional<replica_count>> replica_core::write(const write_request& w, request_id id, timestamp now,
                                                           effects& out) {
  if (w.ops.empty()) return error(errc::invalid_argument, "a write needs at least one operation");
  if (auto ok = slot_->apply(w.ops); !ok) return ok.error();
  stats_.mutations += w.ops.size();
  mark_changed(now, out);
  if (durability_.logs()) {
    durability_.queue({id, w.level}, out);
    return std::optional<replica_count>{};
  }
  if (w.level.level == consistency_level::local) return std::optional{replica_count{1, quorum_.group_size()}};
  broadcast_delta(out);  // now, not at the next sync tick: the write waits for the peers
  return quorum_.await_write(id, stream_.seq(), w.level, peers_, out);
}

// A read that needs other replicas asks each peer for its full state; each sends it in chunks that
// name the read, and the peer counts once its state is merged.
std::optional<read_result> replica_core::read(const consistency& level, request_id id, timestamp, effects& out) {
  auto n = quorum_.group_size();
  if (replicas_needed(level.level, n) <= 1) return read_result{*state(), replica_count{1, n}};
  quorum_.await_read(id, level, timestamp(level.timeout_ms), out);
  for (auto& [peer, p] : peers_) out.sends.push_back({peer, read_request{id_.group, id}});
  return std::nullopt;
}

void replica_core::broadcast(timestamp, effects& out) {
  if (durability_.logs() && durability_.flush_scheduled()) flush_log(out);  // logged deltas go out at once
  broadcast_delta(out);
  notify_subscribers(out);
}

bool replica_core::snapshot(request_id id, timestamp, effects& out) {
  if (!opts_.has_storage) return true;
  start_snapshot(id, out);
  return false;
}

// -- the delta stream -------------------------------------------------------------------------

// Sends a delta to every peer as the next in this replica's sequence.
void replica_core::send_delta(const bytes& delta, effects& out) {
  if (delta.size() > opts_.max_message_bytes) {
    // Too big for one message: the full state, in chunks. Nothing before it can be resent alone.
    stream_.append_unkept();
    for (auto& [peer, p] : peers_) send_state(peer, std::nullopt, false, out);
    return;
  }
  auto seq = stream_.append(delta);
  std::bernoulli_distribution drop(opts_.drop_deltas);
  for (auto& [peer, p] : peers_) {
    if (opts_.drop_deltas > 0 && drop(drop_rng_)) {
      ++stats_.deltas_dropped;
      continue;
    }
    out.sends.push_back({peer, delta_message{id_.group, id_.self, seq, delta}});
    ++stats_.deltas_sent;
  }
}

// Sends the accumulated delta to every peer (nothing when nothing changed). With a log, deltas
// leave only once logged (finish_append sends them).
void replica_core::broadcast_delta(effects& out) {
  if (durability_.logs() || !slot_->has_delta()) return;
  send_delta(slot_->take_delta(), out);
}

// Appends what the unlogged mutations changed to the log, as one entry.
void replica_core::flush_log(effects& out) {
  auto acks = durability_.take_unlogged();
  if (!slot_->has_delta()) {
    // Nothing to log (a remove of a missing element, say): acknowledged with the append that is
    // running, so acknowledgements keep the order of the mutations.
    if (!durability_.join_running_append(acks)) answer_logged(acks, {}, out);
    return;
  }
  storage_request r;
  r.what = storage_request::kind::write;
  auto [seq, ops] = durability_.begin_append(opts_.group, slot_->take_delta(), std::move(acks));
  r.ops = std::move(ops);
  request_storage(std::move(r), log_append{seq}, out);
}

// A finished append: its delta goes to the peers first (a write with a level waits for its
// number), then its requesters are answered. A failed append re-arms the snapshot that will store
// what it lacks; the mutation stays applied and spreads.
void replica_core::finish_append(std::uint64_t seq, const status& outcome, effects& out) {
  auto done = durability_.end_append(seq);
  if (!done) return;
  if (!outcome) {
    report("log append failed: " + outcome.error().to_string(), out);
    durability_.changed();
    arm_snapshot(out);
  } else {
    ++stats_.log_appends;
  }
  send_delta(done->delta, out);
  answer_logged(done->acks, outcome, out);
  compact_if_due(out);
}

void replica_core::answer_logged(std::vector<pending_ack>& acks, const status& outcome, effects& out) {
  for (auto& a : acks) {
    if (!outcome) {
      out.replies.push_back({a.id, outcome, {}, nullptr});
    } else if (!a.level) {
      out.replies.push_back({a.id, {}, {}, nullptr});
    } else if (auto count = quorum_.await_write(a.id, stream_.seq(), *a.level, peers_, out)) {
      out.replies.push_back({a.id, {}, *count, nullptr});
    }
  }
}

void replica_core::start_snapshot(std::optional<request_id> reply, effects& out) {
  storage_request r;
  r.what = storage_request::kind::write;
  r.ops = durability_.begin_snapshot(opts_.group, *state());
  request_storage(std::move(r), save_snapshot{reply}, out);
}

void replica_core::finish_snapshot(const save_snapshot& s, const status& outcome, effects& out) {
  durability_.end_snapshot(outcome);
  if (outcome) {
    ++stats_.snapshots;
  } else {
    arm_snapshot(out);
    report("snapshot failed: " + outcome.error().to_string(), out);
  }
  if (s.reply) out.replies.push_back({*s.reply, outcome, {}, nullptr});
}

// A log past its bound is compacted now rather than at the next snapshot tick.
void replica_core::compact_if_due(effects& out) {
  if (!durability_.compaction_due()) return;
  ++stats_.early_snapshots;
  start_snapshot(std::nullopt, out);
}

// -- peers --------------------------------------------------------------------------------------

std::vector<merged_through> replica_core::merged_summary() const {
  std::vector<merged_through> out{{id_.self, stream_.seq()}};
  for (const auto& [peer, p] : peers_)
    if (!p.origin.empty()) out.push_back({p.origin, stream_.merged(p.origin)});
  return out;
}

std::vector<std::string> replica_core::member_origins() const {
  std::vector<std::string> out;
  for (const auto& [peer, p] : peers_)
    if (!p.origin.empty()) out.push_back(p.origin);
  return out;
}

source_fn replica_core::state_source_fn() {
  return [this] { return state_source{state(), stream_.seq(), merged_summary()}; };
}

void replica_core::send_state(peer_id peer, std::optional<std::uint64_t> read, bool asked, effects& out) {
  if (!read && holds_nothing()) return;  // nothing to give; a read still gets its answer
  transfers_.send_state(peer, read, asked, state_source_fn(), out, stats_);
  arm_transfer_check(out);
}

// While a transfer runs, a check every transfer_timeout restarts the ones that stalled.
void replica_core::arm_transfer_check(effects& out) {
  if (transfer_check_armed_ || !transfers_.sending()) return;
  transfer_check_armed_ = true;
  out.timers.push_back({timer_kind::transfer_check, opts_.transfer_timeout, 0});
}

// Nothing a peer could lack: no delta of its own yet and the state a new replica starts from.
bool replica_core::holds_nothing() {
  if (stream_.seq() != 0) return false;
  auto encoded = state();
  return encoded->size() == empty_state_.size() && *encoded == empty_state_;
}

bool replica_core::peers_in_sync() const {
  for (const auto& [peer, p] : peers_)
    if (!p.in_sync) return false;
  return true;
}

bool replica_core::peers_lag() const {
  for (const auto& [peer, p] : peers_)
    if (p.acked < stream_.seq()) return true;
  return false;
}

void replica_core::peer_up(peer_id peer, bool remote, bool refused_before, timestamp now, effects& out) {
  if (!peers_.emplace(peer, peer_state{remote, {}, 0, false}).second) return;
  // A new peer gets everything this replica has (nothing, when it holds nothing yet); the peer
  // greets this replica the same way once it knows it. Only a greeting that came before this
  // replica knew the peer was refused (and with it the state): then it asks for the state.
  send_state(peer, std::nullopt, false, out);
  if (refused_before) out.sends.push_back({peer, state_request{id_.group}});
  arm_digest(now, out);
  pruning_.arm(out);
}

void replica_core::replicas_known(const std::vector<std::string>& ids, effects& out) {
  for (const auto& id : ids) know_replica(id, out);
}

// A replica id of the group counts from now on; a new one is kept in the store (so it still counts
// after a restart while its node is down).
void replica_core::know_replica(const std::string& replica_id, effects& out) {
  if (quorum_.saw_replica(replica_id)) save_replicas(out);
}

void replica_core::save_replicas(effects& out) {
  if (!opts_.has_storage || dropped_) return;
  storage_request r;
  r.what = storage_request::kind::write;
  r.ops.push_back(
    storage::write_op::save(detail::replicas_key(opts_.group), detail::encode_replicas(quorum_.replicas())));
  request_storage_unanswered(std::move(r), out);
}

// A peer that went away: its per-peer state goes too, so metadata follows the current members. Its
// last deltas may have reached only some replicas, and no one resends them: the next rounds compare
// states with every peer (anti_entropy.hpp).
void replica_core::peer_down(peer_id peer, timestamp now, effects& out) {
  if (!forget_peer(peer)) return;
  anti_entropy_.member_left();
  arm_digest(now, out);
}

bool replica_core::forget_peer(peer_id peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  auto origin = it->second.origin;
  peers_.erase(it);
  transfers_.forget(peer);
  if (!origin.empty()) stream_.forget(origin);
  return true;
}

// A peer that sends what no replica of this group sends (a malformed or oversized message, a
// message for another group, another origin than before) is dropped: this replica stops sending to
// it. It comes back only if membership announces it again.
void replica_core::drop_peer(peer_id peer, const std::string& why, effects& out) {
  report(why + "; dropping the peer", out);
  forget_peer(peer);
}

// A peer's origin, as its messages name it: pinned by the first one (an actor has one incarnation
// for its life, so a peer that names another speaks for someone else and is dropped). Its replica
// id counts as one of the group's replicas from now on (for consistency levels).
bool replica_core::note_origin(peer_id from, const std::string& origin, effects& out) {
  auto& p = peers_.at(from);
  if (p.origin == origin) return true;
  if (!p.origin.empty() || origin.empty() || origin.find('@') == std::string::npos) {
    drop_peer(from, "a peer named the origin " + quote_input(origin) + " after " + quote_input(p.origin), out);
    return false;
  }
  p.origin = origin;
  know_replica(replica_id_of(origin), out);
  return true;
}

// Merges a state or delta from a peer; false (and the peer dropped) when it does not decode.
bool replica_core::merge_remote(peer_id from, bytes_view encoded, const char* what, timestamp now, effects& out) {
  if (auto ok = slot_->merge(encoded); !ok) {
    drop_peer(from, std::string("malformed ") + what + ": " + ok.error().to_string(), out);
    return false;
  }
  mark_changed(now, out);
  return true;
}

// Tells the sender how far this replica merged its deltas without a gap (writes with a
// consistency level count these).
void replica_core::acknowledge_deltas(peer_id to, const std::string& origin, effects& out) {
  out.sends.push_back({to, delta_ack{id_.group, id_.self, stream_.merged(origin)}});
}

void replica_core::ask_for_state(peer_id peer, const std::string& origin, effects& out) {
  if (!stream_.may_ask(origin)) return;  // one request per origin and digest round
  out.sends.push_back({peer, state_request{id_.group}});
}

void replica_core::ask_for_deltas(peer_id peer, const std::string& origin, std::uint64_t first, effects& out) {
  if (!stream_.may_ask(origin)) return;
  out.sends.push_back({peer, deltas_request{id_.group, first}});
}

// Sends `peer` this replica's own deltas from number `first` on, from the buffer of recent ones, or
// its full state when they are no longer all there.
void replica_core::resend_deltas(peer_id peer, std::uint64_t first, effects& out) {
  auto kept = stream_.since(first);
  if (!kept) return send_state(peer, std::nullopt, true, out);
  for (const auto& [seq, delta] : *kept) {
    out.sends.push_back({peer, delta_message{id_.group, id_.self, seq, *delta}});
    ++stats_.deltas_resent;
  }
}

// -- peers' messages ----------------------------------------------------------------------------

void replica_core::receive(peer_id from, delta_message& d, timestamp now, effects& out) {
  if (d.group != id_.group) return drop_peer(from, "delta for another group: " + quote_input(d.group), out);
  if (d.delta.size() > opts_.max_message_bytes)
    return drop_peer(from, "delta of " + std::to_string(d.delta.size()) + " bytes exceeds max_message_bytes", out);
  ++stats_.deltas_received;
  if (!note_origin(from, d.from, out)) return;
  if (!merge_remote(from, d.delta, "delta", now, out)) return;
  if (stream_.track(d.from, d.seq) == delta_stream::arrival::gap) {
    ++stats_.gaps;
    ask_for_deltas(from, d.from, stream_.merged(d.from) + 1, out);
  }
  acknowledge_deltas(from, d.from, out);
}

void replica_core::receive(peer_id from, state_chunk& c, timestamp now, effects& out) {
  if (c.group != id_.group) return drop_peer(from, "state chunk for another group: " + quote_input(c.group), out);
  if (!note_origin(from, c.from, out)) return;
  auto origin = c.from;
  auto got = transfers_.receive(from, c, out);
  using kind = transfers::received::kind;
  if (got.what == kind::malformed) return drop_peer(from, got.why + " from " + quote_input(origin), out);
  if (got.what == kind::refused) return report("state chunk from " + quote_input(origin) + " refused: " + got.why, out);
  if (got.what != kind::complete) return;
  ++stats_.states_received;
  if (!merge_remote(from, got.state, "full state", now, out)) return;
  // A full state holds every delta its sender had merged: of itself up to `seq`, and of each
  // member it names (the current members of this replica count; others are gone).
  stream_.answered(origin);
  stream_.merged_at_least(origin, got.seq);
  acknowledge_deltas(from, origin, out);
  for (const auto& m : got.merged) {
    if (m.origin == id_.self || m.origin == origin) continue;
    for (const auto& [peer, p] : peers_)
      if (p.origin == m.origin) stream_.merged_at_least(m.origin, m.seq);
  }
  // Reads count the sender only now that its state is merged.
  for (auto read : got.reads)
    quorum_.read_answered(
      read, replica_id_of(origin), [this] { return state(); }, out);
}

void replica_core::receive(peer_id from, const chunk_ack& a, timestamp, effects& out) {
  if (a.group != id_.group) return;
  transfers_.on_ack(from, a, state_source_fn(), out, stats_);
  arm_transfer_check(out);
}

// A digest from a peer: resend what it lacks of this replica's deltas, ask for what this replica
// lacks of the peer's, and only when both have merged the same deltas of every current member and
// no change of this replica is on its way do the checksums decide (a member that left before its
// last delta reached everyone): then full states go both ways.
void replica_core::receive(peer_id from, const digest_message& d, timestamp now, effects& out) {
  if (d.group != id_.group) return;
  if (d.merged.size() > max_summary_origins) return drop_peer(from, "digest listing too many origins", out);
  if (!note_origin(from, d.from, out)) return;
  bool change_pending = slot_->has_delta() || durability_.append_running();
  auto v = anti_entropy::compare(d, id_.self, stream_.seq(), stream_, member_origins(), change_pending,
                                 [this] { return checksum(); });
  if (v.resend_from) resend_deltas(from, *v.resend_from, out);
  if (v.ask_from) ask_for_deltas(from, d.from, *v.ask_from, out);
  if (v.exchange_states) {
    send_state(from, std::nullopt, true, out);
    ask_for_state(from, d.from, out);
  }
  if (v.mismatch()) {
    anti_entropy_.mismatch();
    arm_digest(now, out);
  }
  auto& p = peers_.at(from);
  p.in_sync = v.in_sync;
  // What the peer merged of this replica's deltas counts as acknowledged (an acknowledgement that
  // was lost would otherwise keep this replica's rounds going to it).
  if (auto held = std::min(v.holds_own, stream_.seq()); held > p.acked) {
    p.acked = held;
    quorum_.writes_held(peers_, out);
  }
  // A quiet peer's digest is answered with this replica's own, so it learns whether the two hold
  // the same (answers are not answered).
  if (!d.answer && d.digest != no_checksum) {
    auto sum = slot_->has_delta() || durability_.append_running() ? no_checksum : checksum();
    out.sends.push_back({from, digest_message{id_.group, id_.self, sum, merged_summary(), true}});
  }
}

void replica_core::receive(peer_id from, const state_request& r, timestamp, effects& out) {
  if (r.group != id_.group) return;
  send_state(from, std::nullopt, true, out);
}

void replica_core::receive(peer_id from, const deltas_request& r, timestamp, effects& out) {
  if (r.group != id_.group) return;
  resend_deltas(from, r.first, out);
}

void replica_core::receive(peer_id from, const delta_ack& a, timestamp, effects& out) {
  if (a.group != id_.group) return;
  if (!note_origin(from, a.from, out)) return;
  ++stats_.acks_received;
  auto& p = peers_.at(from);
  p.acked = std::max(p.acked, std::min(a.seq, stream_.seq()));  // a peer cannot hold what was never sent
  quorum_.writes_held(peers_, out);
}

void replica_core::receive(peer_id from, const read_request& r, timestamp, effects& out) {
  if (r.group != id_.group) return;
  send_state(from, r.read, true, out);  // the transfer names the read
}

// -- pruning ------------------------------------------------------------------------------------

// A change the replica makes itself (a retire): it spreads and is logged like a client's mutation,
// with no one to answer.
void replica_core::internal_change(timestamp now, effects& out) {
  mark_changed(now, out);
  if (durability_.logs()) durability_.queue({0, std::nullopt}, out);
}

// The pruning check: expired markers go; the incarnations of this replica id that went before this
// one are retired once every replica of the group (every id known from the store, membership, the
// state's origins and the peers' answers) answered the same digest of it; until then every peer is
// asked again each prune_interval (a replica that is away answers when it is back).
void replica_core::prune(timestamp now, effects& out) {
  slot_->expire_retired(static_cast<std::uint64_t>(now.count()));
  std::set<std::string> live;
  for (const auto& [peer, p] : peers_)
    if (!p.origin.empty()) live.insert(p.origin);
  auto origins = slot_->origins();
  for (const auto& o : origins) know_replica(replica_id_of(o), out);  // whoever wrote is a replica
  auto candidates = pruning_.predecessors(origins, id_.self, live);
  std::vector<std::string> open;
  for (const auto& c : candidates)
    if (!pruning_.is_blocked(c) && !try_retire(c, now, out)) open.push_back(c);
  if (open.empty()) return;
  pruning_.arm(out);  // again: until every predecessor is retired or blocked (a replica may be away)
  pruning_.asking();
  for (const auto& [peer, p] : peers_)
    for (const auto& c : open) out.sends.push_back({peer, retire_query{id_.group, c}});
}

// Retires `origin` if every replica of the group answered this replica's own digest of it; true
// when it is done with (retired, or blocked by dots that keep elements alive).
bool replica_core::try_retire(const std::string& origin, timestamp now, effects& out) {
  if (!pruning_.agreed(origin, slot_->origin_digest(origin), quorum_.replicas())) return false;
  auto expires = static_cast<std::uint64_t>((now + opts_.retired_lifetime).count());
  if (auto ok = slot_->retire(origin, expires); !ok) {
    pruning_.blocked(origin);
    return true;
  }
  ++stats_.retired;
  internal_change(now, out);
  return true;
}

void replica_core::receive(peer_id from, const retire_query& q, timestamp, effects& out) {
  if (q.group != id_.group) return;
  const auto& known = quorum_.replicas();
  out.sends.push_back({from, retire_answer{id_.group, id_.self, q.origin, slot_->origin_digest(q.origin),
                                           std::vector<std::string>(known.begin(), known.end())}});
}

void replica_core::receive(peer_id from, const retire_answer& a, timestamp now, effects& out) {
  if (a.group != id_.group || !note_origin(from, a.from, out)) return;
  // Only this replica id's own predecessors are ever retired here (one retirer per incarnation),
  // whatever a peer answers about.
  if (a.origin == id_.self || replica_id_of(a.origin) != opts_.replica_id) return;
  pruning_.answered(a.origin, replica_id_of(a.from), a.digest);
  for (const auto& id : a.replicas) know_replica(id, out);
  if (!pruning_.is_blocked(a.origin)) try_retire(a.origin, now, out);
}

// -- anti-entropy -------------------------------------------------------------------------------

// A digest round: the pending delta goes first, so the digest covers what the peers will have.
void replica_core::digest_round(timestamp now, effects& out) {
  anti_entropy_.fired();
  if (peers_.empty()) return;
  broadcast_delta(out);
  auto sum = anti_entropy_.round_carries_checksum() ? checksum() : no_checksum;
  digest_message d{id_.group, id_.self, sum, merged_summary(), false};
  if (anti_entropy_.checks_all() && peers_in_sync()) anti_entropy_.all_confirmed();
  auto targets = digest_targets(now);
  // Peers on this node get it directly; membership takes it to the other nodes, together with the
  // digests of every other group of this node in the same round (one message per node).
  digest_relay relay{d, {}};
  for (auto peer : targets) {
    if (peers_.at(peer).remote)
      relay.to.push_back(peer);
    else
      out.sends.push_back({peer, d});
  }
  if (!relay.to.empty()) out.relays.push_back(std::move(relay));
  stats_.digests_sent += targets.size();
  stream_.new_round();  // unanswered requests may be asked again
  bool unsettled = peers_lag() || (anti_entropy_.checks_all() && !peers_in_sync());
  if (anti_entropy_.round_done(unsettled)) arm_digest(now, out);
}

// To whom a round goes (anti_entropy.hpp): the peers that have not acknowledged this replica's last
// delta, every peer not known to hold the same state while a departed member is checked for, and
// the round's gossip partners, chosen on a ring of replica ids that every replica of the group sees
// alike.
std::vector<peer_id> replica_core::digest_targets(timestamp now) const {
  std::vector<std::pair<std::string, peer_id>> ring;
  std::set<peer_id> targets;
  for (const auto& [peer, p] : peers_) {
    if (p.acked < stream_.seq() || (anti_entropy_.checks_all() && !p.in_sync)) targets.insert(peer);
    ring.emplace_back(p.origin.empty() ? std::string() : replica_id_of(p.origin), peer);
  }
  std::sort(ring.begin(), ring.end());
  auto self = std::lower_bound(ring.begin(), ring.end(), std::make_pair(opts_.replica_id, peer_id{0}));
  auto round = static_cast<std::uint64_t>(now / opts_.digest_interval);
  for (auto i :
       anti_entropy::partners(ring.size(), static_cast<std::size_t>(self - ring.begin()), round, digest_fanout))
    targets.insert(ring[i].second);
  return {targets.begin(), targets.end()};
}

}  // namespace grove::actors::replica
