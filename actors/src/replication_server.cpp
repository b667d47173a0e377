#include <cctype>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/node.hpp"
#include "grove/actors/replica.hpp"
#include "grove/crdt/escape.hpp"
#include "incarnation.hpp"
#include "log_limiter.hpp"

namespace grove::actors {

namespace {

// Timers: delayed messages a replica sends itself.
using sync_tick_atom = caf::atom_constant<caf::atom("grv_tsync")>;
using snapshot_tick_atom = caf::atom_constant<caf::atom("grv_tsnap")>;
using digest_tick_atom = caf::atom_constant<caf::atom("grv_tdig")>;
// Sent to itself after a mutation with durability log: append what changed to the log.
using log_flush_atom = caf::atom_constant<caf::atom("grv_tlog")>;
// A write or read with a consistency level that is still waiting at its deadline (by number).
using write_timeout_atom = caf::atom_constant<caf::atom("grv_twrite")>;
using read_timeout_atom = caf::atom_constant<caf::atom("grv_tread")>;

using replica_impl = replica_actor::extend<caf::reacts_to<sync_tick_atom>, caf::reacts_to<snapshot_tick_atom>,
                                           caf::reacts_to<digest_tick_atom>, caf::reacts_to<log_flush_atom>,
                                           caf::reacts_to<write_timeout_atom, std::uint64_t>,
                                           caf::reacts_to<read_timeout_atom, std::uint64_t>>;

// Bounds on what a peer can make a replica buffer while it assembles a full state.
constexpr std::size_t max_state_bytes = std::size_t{1} << 30;
constexpr std::size_t max_open_transfers = 64;
// Chunks of a full state sent to one peer and not yet acknowledged (4 x max_message_bytes).
constexpr std::uint32_t max_chunks_in_flight = 4;

// Bounds on the buffer of recent own deltas that a replica resends to a peer that lacks them.
constexpr std::size_t max_recent_deltas = 1024;
constexpr std::size_t recent_bytes_per_message_size = 4;  // x max_message_bytes
// Digest rounds after the last change (or mismatch) before the digest timer stops.
constexpr int quiet_digest_rounds = 2;
// Most origins a digest or a state may list: more is no replica of this group (membership takes
// at most 1,024 members of a group per node).
constexpr std::size_t max_summary_origins = 1 << 16;
// A digest sent by a replica that changed since its last round carries no checksum.
constexpr std::uint64_t no_checksum = 0;

// A full state on its way to one peer: at most max_chunks_in_flight chunks sent and not yet
// acknowledged. It keeps the version it started with; reads that asked for it get read_done once
// every chunk is acknowledged.
struct outgoing_transfer {
  std::shared_ptr<const bytes> encoded;
  std::uint64_t transfer = 0;
  std::uint64_t seq = 0;
  std::vector<merged_through> merged;
  std::uint32_t count = 0;
  std::uint32_t next = 0;  // the next chunk to send
  std::uint32_t acked = 0;
  std::vector<std::uint64_t> reads;  // read_done numbers to send when it is complete
};

// Per peer: the transfer running, and whether another (of the state as it will be then) must
// follow, with the reads that wait for that one.
struct transfers_to_peer {
  std::optional<outgoing_transfer> running;
  bool again = false;
  std::vector<std::uint64_t> reads_again;
};

struct incoming_transfer {
  std::uint64_t seq = 0;
  std::vector<bytes> parts;
  std::vector<merged_through> merged;
  std::uint32_t received = 0;
};

// What a mutation's requester gets once its delta is logged (or the append failed).
using on_logged = std::function<void(const caf::error&)>;

// One log append and the requesters it acknowledges.
struct log_batch {
  bytes delta;
  std::vector<on_logged> requesters;
};

// A write with a consistency level, waiting until enough replicas merged this replica's deltas
// through `seq`.
struct pending_write {
  std::uint64_t seq = 0;
  consistency level;
  caf::typed_response_promise<replica_count> promise;
};

// A read with a consistency level, waiting for states from enough replicas (by replica id).
struct pending_read {
  consistency level;
  std::set<std::string> answered;
  caf::typed_response_promise<read_result> promise;
};

struct replica_state {
  replication_options opts;
  std::string group_text;
  std::string self_id;  // replica_id@incarnation: the owner of the dots this replica makes
  slot_factory make_slot;
  std::unique_ptr<crdt_slot> slot;
  std::map<caf::actor_addr, replica_actor> peers;
  std::map<caf::actor_addr, std::string> origin_of;    // a peer's replica_id@incarnation, from its messages
  std::map<std::string, std::uint64_t> merged;         // per origin: its deltas merged without a gap
  std::set<std::string> awaiting;                      // origins asked for deltas or state (once per round)
  std::deque<std::pair<std::uint64_t, bytes>> recent;  // own deltas by number, for resending
  std::size_t recent_bytes = 0;
  std::map<std::pair<std::string, std::uint64_t>, incoming_transfer> transfers;
  std::set<caf::actor> subscribers;
  std::uint64_t seq = 0;
  std::uint64_t next_transfer = 0;
  bool changed_since_snapshot = false;
  // Durability log: mutations applied but not yet in an append, the newest append still running,
  // the number of the last log entry, and what decides when the log is compacted.
  std::vector<on_logged> unlogged;
  bool log_flush_scheduled = false;
  std::shared_ptr<log_batch> newest_append;
  std::uint64_t log_seq = 0;
  std::size_t log_bytes = 0;       // appended since the last snapshot was started
  std::size_t snapshot_bytes = 0;  // size of the last snapshot
  bool snapshot_running = false;
  bool changed_since_notify = false;
  // Timers armed (one pending delayed message each at most) and the digest rounds' progress.
  bool sync_armed = false;
  bool snapshot_armed = false;
  bool digest_armed = false;
  bool changed_since_digest = false;
  int quiet_rounds = 0;
  // The encoded state and its digest, made once per version (any change resets them).
  std::shared_ptr<const bytes> state_cache;
  std::map<caf::actor_addr, transfers_to_peer> sending;
  std::optional<std::uint64_t> digest_cache;
  // Consistency levels: the replica ids of the group seen since start (besides this one), how far
  // each peer acknowledged this replica's deltas, and the writes and reads that wait.
  std::set<std::string> replicas_seen;
  std::map<caf::actor_addr, std::uint64_t> acked;
  std::map<std::uint64_t, pending_write> writes;
  std::map<std::uint64_t, pending_read> reads;
  std::uint64_t next_request = 0;
  bool dropped = false;  // erasing its stored state before it stops
  std::mt19937_64 drop_rng;
  replica_stats stats;
  detail::log_limiter log;
};

using replica_ptr = replica_impl::stateful_pointer<replica_state>;

void log_error(replica_ptr self, const std::string& what) {
  ++self->state.stats.errors;
  self->state.log.write("[grove] replica " + self->state.self_id + " of " + self->state.group_text + ": " + what);
}

// Timers: each is armed when there is something for it to do and not re-armed when idle.
void arm_sync(replica_ptr self) {
  auto& st = self->state;
  if (st.sync_armed || (!st.slot->has_delta() && st.subscribers.empty())) return;
  st.sync_armed = true;
  self->delayed_send(self, st.opts.sync_interval, sync_tick_atom::value);
}

void arm_snapshot(replica_ptr self) {
  auto& st = self->state;
  if (st.snapshot_armed || !st.opts.storage) return;
  st.snapshot_armed = true;
  self->delayed_send(self, st.opts.snapshot_interval, snapshot_tick_atom::value);
}

// Digest rounds fall on multiples of digest_interval of the steady clock, so the replicas of a
// node that have rounds to run run them at the same moment and membership sends their digests to
// each other node as one message (see digest_round).
void arm_digest(replica_ptr self) {
  auto& st = self->state;
  if (st.digest_armed || st.peers.empty()) return;
  st.digest_armed = true;
  auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(st.opts.digest_interval);
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  self->delayed_send(self, interval - now % interval, digest_tick_atom::value);
}

// After anything that may have changed the state: forget its encoding, and arm what must follow.
void mark_changed(replica_ptr self) {
  auto& st = self->state;
  st.changed_since_snapshot = true;
  st.changed_since_notify = true;
  st.changed_since_digest = true;
  st.state_cache.reset();
  st.digest_cache.reset();
  arm_sync(self);
  arm_snapshot(self);
  arm_digest(self);
}

// The encoded state, made once per version (for every peer, subscriber and snapshot of it).
const bytes& encoded_state(replica_ptr self) {
  auto& st = self->state;
  if (!st.state_cache) st.state_cache = std::make_shared<const bytes>(st.slot->state());
  return *st.state_cache;
}

// The codec's trailing checksum covers the whole encoding: equal states, equal digests.
std::uint64_t state_digest(replica_ptr self) {
  auto& st = self->state;
  if (!st.digest_cache) {
    const auto& encoded = encoded_state(self);
    std::uint64_t d = 0;
    for (int i = 0; i < 8; ++i)
      d |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(encoded[encoded.size() - 8 + i])) << (8 * i);
    st.digest_cache = d;
  }
  return *st.digest_cache;
}

// How far this replica has merged its own deltas and those of each current member.
std::vector<merged_through> merged_summary(replica_ptr self) {
  auto& st = self->state;
  std::vector<merged_through> out{{st.self_id, st.seq}};
  for (const auto& [addr, origin] : st.origin_of) {
    auto it = st.merged.find(origin);
    out.push_back({origin, it == st.merged.end() ? 0 : it->second});
  }
  return out;
}

std::string replica_id_of(const std::string& origin) { return origin.substr(0, origin.find('@')); }

// A peer's origin (replica_id@incarnation), as its messages name it. Its replica id counts as one
// of the group's replicas from now on (for consistency levels), also while its node is down.
void note_origin(replica_ptr self, const std::string& origin) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender) return;
  auto& known = st.origin_of[sender->address()];
  if (known == origin) return;  // every delta and acknowledgement names it: only a new one costs
  known = origin;
  auto id = replica_id_of(origin);
  if (id != st.opts.replica_id && st.replicas_seen.size() < max_summary_origins) st.replicas_seen.insert(id);
}

// A peer that sends what no replica of this group sends (a malformed or oversized message) is
// dropped: this replica stops sending to it. It comes back only if membership announces it again.
void drop_sender(replica_ptr self, const std::string& why) {
  auto sender = self->current_sender();
  log_error(self, why + (sender ? "; dropping peer " + caf::to_string(sender->address()) : std::string()));
  if (!sender) return;
  self->state.peers.erase(sender->address());
  self->state.sending.erase(sender->address());
  self->state.stats.peers = self->state.peers.size();
}

replica_actor sender_of(replica_ptr self) { return caf::actor_cast<replica_actor>(self->current_sender()); }

// Whether the current replica-to-replica message comes from a current member of the group (one
// that membership announced and that was not dropped). Anyone else is ignored and counted: a
// stranger must not be able to make a replica merge its bytes or send it the full state.
bool from_peer(replica_ptr self) {
  auto sender = self->current_sender();
  if (sender && self->state.peers.count(sender->address()) > 0) return true;
  ++self->state.stats.refused;
  return false;
}

// Whether the current message comes from this replica's membership actor (peer_up, peer_down).
bool from_membership(replica_ptr self) {
  auto sender = self->current_sender();
  auto& membership = self->state.opts.membership;
  if (sender && membership && sender->address() == caf::actor_cast<caf::actor_addr>(*membership)) return true;
  ++self->state.stats.refused;
  return false;
}

// Merges a state or delta from a peer; false (and the peer dropped) when it does not decode.
bool merge_remote(replica_ptr self, bytes_view encoded, const char* what) {
  if (auto ok = self->state.slot->merge(encoded); !ok) {
    drop_sender(self, std::string("malformed ") + what + ": " + ok.error().to_string());
    return false;
  }
  mark_changed(self);
  return true;
}

// Sends the chunks of `t` that the window allows.
void send_chunks(replica_ptr self, const replica_actor& peer, outgoing_transfer& t) {
  auto& st = self->state;
  auto chunk = st.opts.max_message_bytes;
  while (t.next < t.count && t.next - t.acked < max_chunks_in_flight) {
    auto i = t.next++;
    auto piece = t.encoded->substr(std::size_t{i} * chunk, chunk);
    std::vector<merged_through> merged;
    if (i == 0) merged = t.merged;
    self->send(
      peer, chunk_atom::value,
      state_chunk{st.group_text, st.self_id, t.seq, t.transfer, i, t.count, std::move(piece), std::move(merged)});
  }
  st.stats.chunks_in_flight_peak = std::max<std::uint64_t>(st.stats.chunks_in_flight_peak, t.next - t.acked);
}

// Starts a transfer of the current state to `peer`.
void start_transfer(replica_ptr self, const replica_actor& peer, transfers_to_peer& to,
                    std::vector<std::uint64_t> reads) {
  auto& st = self->state;
  encoded_state(self);
  outgoing_transfer t;
  t.encoded = st.state_cache;
  t.transfer = ++st.next_transfer;
  t.seq = st.seq;
  t.merged = merged_summary(self);
  t.count = static_cast<std::uint32_t>(
    std::max<std::size_t>(1, (t.encoded->size() + st.opts.max_message_bytes - 1) / st.opts.max_message_bytes));
  t.reads = std::move(reads);
  to.running = std::move(t);
  ++st.stats.states_sent;
  send_chunks(self, peer, *to.running);
}

// Sends `peer` the full state, in chunks with a bounded number in flight (the peer acknowledges
// each). While a transfer to it runs, another of the state as it will be then follows it (one at
// most). `read` is a read's number: read_done follows the transfer that carries it.
//
// A peer ignores chunks from a replica it does not know yet as a member (see add_peer), and then
// acknowledges none. When the state goes out because of a message from the peer (`asked`: it
// knows this replica now), a transfer it has acknowledged nothing of was ignored: it starts over.
void send_state(replica_ptr self, const replica_actor& peer, std::optional<std::uint64_t> read = std::nullopt,
                bool asked = false) {
  auto& to = self->state.sending[peer.address()];
  std::vector<std::uint64_t> reads;
  if (read) reads.push_back(*read);
  if (to.running && asked && to.running->acked == 0) {
    reads.insert(reads.end(), to.running->reads.begin(), to.running->reads.end());
    to.running.reset();
  }
  if (!to.running) return start_transfer(self, peer, to, std::move(reads));
  to.again = true;
  to.reads_again.insert(to.reads_again.end(), reads.begin(), reads.end());
}

// A peer acknowledged a chunk: the window moves on; a finished transfer sends its reads' read_done
// and lets the next one start.
void on_chunk_ack(replica_ptr self, const replica_actor& peer, std::uint64_t transfer) {
  auto& st = self->state;
  auto it = st.sending.find(peer.address());
  if (it == st.sending.end() || !it->second.running || it->second.running->transfer != transfer) return;
  auto& to = it->second;
  auto& t = *to.running;
  if (t.acked < t.next) ++t.acked;
  if (t.acked < t.count) return send_chunks(self, peer, t);
  for (auto id : t.reads) self->send(peer, read_done_atom::value, st.group_text, id);
  to.running.reset();
  if (to.again) {
    to.again = false;
    start_transfer(self, peer, to, std::exchange(to.reads_again, {}));
  } else {
    st.sending.erase(it);
  }
}

void ask_for_state(replica_ptr self, const std::string& from, const replica_actor& sender) {
  auto& st = self->state;
  if (!sender || !st.awaiting.insert(from).second) return;  // one request per origin and digest round
  self->send(sender, need_state_atom::value, st.group_text);
}

void ask_for_deltas(replica_ptr self, const std::string& from, std::uint64_t first, const replica_actor& sender) {
  auto& st = self->state;
  if (!sender || !st.awaiting.insert(from).second) return;
  self->send(sender, need_deltas_atom::value, st.group_text, first);
}

// Sends `peer` this replica's own deltas from number `first` on, from the buffer of recent ones,
// or its full state when they are no longer all there.
void resend_deltas(replica_ptr self, const replica_actor& peer, std::uint64_t first) {
  auto& st = self->state;
  if (first > st.seq) return;
  if (st.recent.empty() || st.recent.front().first > first) return send_state(self, peer, std::nullopt, true);
  for (const auto& [seq, delta] : st.recent) {
    if (seq < first) continue;
    self->send(peer, delta_atom::value, delta_message{st.group_text, st.self_id, seq, delta});
    ++st.stats.deltas_resent;
  }
}

// Records a delta's number: the next one advances what is merged from its origin; a gap means
// lost deltas, which the origin is asked to resend (the ones after the gap, merged already, come
// again too, so that the count stays free of gaps).
void track_sequence(replica_ptr self, const std::string& from, std::uint64_t seq) {
  auto& st = self->state;
  auto& merged = st.merged[from];
  if (seq <= merged) return;  // a resent one
  if (seq == merged + 1) {
    merged = seq;
    st.awaiting.erase(from);
    return;
  }
  ++st.stats.gaps;
  ask_for_deltas(self, from, merged + 1, sender_of(self));
}

// Tells the sender how far this replica merged its deltas without a gap (writes with a
// consistency level count these).
void acknowledge_deltas(replica_ptr self, const std::string& from) {
  auto& st = self->state;
  if (auto sender = sender_of(self))
    self->send(sender, write_ack_atom::value, st.group_text, st.self_id, st.merged[from]);
}

// -- consistency levels ---------------------------------------------------------------------------

std::uint32_t group_size(replica_ptr self) { return static_cast<std::uint32_t>(1 + self->state.replicas_seen.size()); }

std::uint32_t replicas_needed(consistency_level level, std::uint32_t group_size) {
  switch (level) {
    case consistency_level::local: return 1;
    case consistency_level::majority: return group_size / 2 + 1;
    case consistency_level::all: return group_size;
  }
  return group_size;
}

const char* level_name(consistency_level level) {
  switch (level) {
    case consistency_level::local: return "local";
    case consistency_level::majority: return "majority";
    case consistency_level::all: return "all";
  }
  return "?";
}

// This replica and the peers (by replica id) that acknowledged its deltas through `seq`.
std::uint32_t replicas_holding(replica_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  if (seq == 0) return group_size(self);  // nothing was ever sent: every replica holds it
  std::set<std::string> ids;
  for (const auto& [addr, through] : st.acked)
    if (auto origin = st.origin_of.find(addr); through >= seq && origin != st.origin_of.end())
      ids.insert(replica_id_of(origin->second));
  ids.erase(st.opts.replica_id);
  return static_cast<std::uint32_t>(1 + ids.size());
}

// Answers a waiting write if enough replicas hold it; true when it did.
bool finish_write_if_held(replica_ptr self, pending_write& w) {
  auto n = group_size(self);
  auto acks = replicas_holding(self, w.seq);
  if (acks < replicas_needed(w.level.level, n)) return false;
  w.promise.deliver(replica_count{acks, n});
  return true;
}

// A write applied here (and, with a log, logged): answered once its level's replicas merged every
// delta this replica sent so far, or with an error at its deadline.
void await_replicas(replica_ptr self, caf::typed_response_promise<replica_count> promise, consistency level) {
  auto& st = self->state;
  pending_write w{st.seq, level, std::move(promise)};
  if (finish_write_if_held(self, w)) return;
  auto id = ++st.next_request;
  st.writes.emplace(id, std::move(w));
  self->delayed_send(self, std::chrono::milliseconds(level.timeout_ms), write_timeout_atom::value, id);
}

void on_write_ack(replica_ptr self, const std::string& from, std::uint64_t through) {
  auto& st = self->state;
  note_origin(self, from);
  auto sender = self->current_sender();
  if (!sender) return;
  ++st.stats.acks_received;
  auto& acked = st.acked[sender->address()];
  acked = std::max(acked, std::min(through, st.seq));  // a peer cannot hold what was never sent
  for (auto it = st.writes.begin(); it != st.writes.end();)
    it = finish_write_if_held(self, it->second) ? st.writes.erase(it) : std::next(it);
}

// A write or read whose level's replicas did not all take part by its deadline: "write majority:
// 1 of 3 replicas merged it within 500 ms, 2 needed".
caf::error too_few_replicas(const std::string& what, const consistency& level, std::uint32_t acks, std::uint32_t n,
                            const std::string& took_part, const std::string& consequence = {}) {
  return to_caf_error(error(
    errc::unavailable, what + " " + level_name(level.level) + ": " + std::to_string(acks) + " of " + std::to_string(n)
                         + " replicas " + took_part + " within " + std::to_string(level.timeout_ms) + " ms, "
                         + std::to_string(replicas_needed(level.level, n)) + " needed" + consequence));
}

void on_write_timeout(replica_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.writes.find(id);
  if (it == st.writes.end()) return;
  auto& w = it->second;
  w.promise.deliver(too_few_replicas("write", w.level, replicas_holding(self, w.seq), group_size(self), "merged it",
                                     "; it stays applied here and reaches the others when they are back"));
  st.writes.erase(it);
}

// A read that needs other replicas asks each peer for its full state; each sends it (in chunks,
// merged as they come) followed by read_done, which counts the peer.
caf::result<read_result> read(replica_ptr self, const consistency& level) {
  auto& st = self->state;
  auto n = group_size(self);
  if (replicas_needed(level.level, n) <= 1) return read_result{encoded_state(self), replica_count{1, n}};
  auto id = ++st.next_request;
  auto promise = self->make_response_promise<read_result>();
  st.reads.emplace(id, pending_read{level, {}, promise});
  for (auto& [addr, peer] : st.peers) self->send(peer, read_state_atom::value, st.group_text, id);
  self->delayed_send(self, std::chrono::milliseconds(level.timeout_ms), read_timeout_atom::value, id);
  return promise;
}

void on_read_done(replica_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.reads.find(id);
  auto sender = self->current_sender();
  if (it == st.reads.end() || !sender) return;
  auto origin = st.origin_of.find(sender->address());
  if (origin == st.origin_of.end()) return;  // its state never came, so it does not count
  auto& r = it->second;
  r.answered.insert(replica_id_of(origin->second));
  auto n = group_size(self);
  auto acks = static_cast<std::uint32_t>(1 + r.answered.size());
  if (acks < replicas_needed(r.level.level, n)) return;
  r.promise.deliver(read_result{encoded_state(self), replica_count{acks, n}});
  st.reads.erase(it);
}

void on_read_timeout(replica_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.reads.find(id);
  if (it == st.reads.end()) return;
  auto& r = it->second;
  auto answered = static_cast<std::uint32_t>(1 + r.answered.size());
  r.promise.deliver(too_few_replicas("read", r.level, answered, group_size(self), "answered"));
  st.reads.erase(it);
}

// Keeps a sent delta for peers that turn out to lack it, within bounds (oldest go first).
void remember_delta(replica_ptr self, std::uint64_t seq, const bytes& delta) {
  auto& st = self->state;
  st.recent.emplace_back(seq, delta);
  st.recent_bytes += delta.size();
  while (st.recent.size() > max_recent_deltas
         || st.recent_bytes > recent_bytes_per_message_size * st.opts.max_message_bytes) {
    st.recent_bytes -= st.recent.front().second.size();
    st.recent.pop_front();
  }
}

bool logs(replica_ptr self) { return self->state.opts.durability == durability_mode::log; }

// Sends a delta to every peer as the next in this replica's sequence.
void send_delta(replica_ptr self, const bytes& delta) {
  auto& st = self->state;
  ++st.seq;
  if (delta.size() > st.opts.max_message_bytes) {
    // Too big for one message: the full state, in chunks. Nothing before it can be resent alone.
    st.recent.clear();
    st.recent_bytes = 0;
    for (auto& [addr, peer] : st.peers) send_state(self, peer);
    return;
  }
  remember_delta(self, st.seq, delta);
  std::bernoulli_distribution drop(st.opts.drop_deltas);
  for (auto& [addr, peer] : st.peers) {
    if (st.opts.drop_deltas > 0 && drop(st.drop_rng)) {
      ++st.stats.deltas_dropped;
      continue;
    }
    self->send(peer, delta_atom::value, delta_message{st.group_text, st.self_id, st.seq, delta});
    ++st.stats.deltas_sent;
  }
}

// Sends the accumulated delta to every peer (nothing when nothing changed). With a log, deltas
// leave only once logged (finish_append sends them).
void broadcast_delta(replica_ptr self) {
  if (logs(self) || !self->state.slot->has_delta()) return;
  send_delta(self, self->state.slot->take_delta());
}

void notify_subscribers(replica_ptr self) {
  auto& st = self->state;
  if (!st.changed_since_notify || st.subscribers.empty()) return;
  st.changed_since_notify = false;
  const auto& encoded = encoded_state(self);
  for (const auto& s : st.subscribers) caf::anon_send(s, changed_atom::value, st.group_text, encoded);
}

// The write that saves the state as a snapshot and drops the log entries it covers (every entry
// appended so far: their deltas were taken from the state). Appends sent before it are committed
// before it, or with it, by the storage actor.
std::vector<storage::write_op> snapshot_ops(replica_ptr self, bytes state) {
  auto& st = self->state;
  std::vector<storage::write_op> ops;
  ops.push_back(storage::write_op::save(st.opts.group, std::move(state)));
  if (st.log_seq > 0) ops.push_back(storage::write_op::truncate(st.opts.group, st.log_seq));
  return ops;
}

void save_snapshot(replica_ptr self, std::function<void(caf::error)> done) {
  auto& st = self->state;
  st.changed_since_snapshot = false;
  st.snapshot_running = true;
  auto state = encoded_state(self);
  st.snapshot_bytes = state.size();
  auto covered_log_bytes = std::exchange(st.log_bytes, 0);
  self->request(*st.opts.storage, std::chrono::seconds(60), write_atom::value, snapshot_ops(self, std::move(state)))
    .then(
      [=](done_atom) {
        self->state.snapshot_running = false;
        ++self->state.stats.snapshots;
        done(caf::error{});
      },
      [=](caf::error& e) {
        auto& st = self->state;
        st.snapshot_running = false;
        st.changed_since_snapshot = true;  // try again at the next tick
        arm_snapshot(self);
        st.log_bytes += covered_log_bytes;  // the log was not dropped
        log_error(self, "snapshot failed: " + self->system().render(e));
        done(e);
      });
}

// A log past its bound is compacted now rather than at the next snapshot tick.
void compact_if_due(replica_ptr self) {
  auto& st = self->state;
  if (st.snapshot_running || st.log_bytes <= std::max(st.opts.max_log_bytes, st.snapshot_bytes)) return;
  ++st.stats.early_snapshots;
  save_snapshot(self, [](caf::error) {});
}

// done for a request; nothing for a one-way message (CAF would make a response message for it and
// then drop it: an allocation per mutation on the one-way path).
caf::result<done_atom> answer_if_asked(replica_ptr self) {
  auto* current = self->current_mailbox_element();
  if (current && !current->mid.is_request()) return caf::delegated<done_atom>{};
  return done_atom::value;
}

// With durability log: `answer` runs once the mutations applied so far are logged.
void after_logged(replica_ptr self, on_logged answer) {
  auto& st = self->state;
  st.unlogged.push_back(std::move(answer));
  if (!st.log_flush_scheduled) {
    // Mutations already in the mailbox are handled before this message: they join the append.
    st.log_flush_scheduled = true;
    self->send(self, log_flush_atom::value);
  }
}

// Acknowledges a mutation that was applied: now, or with durability log once its delta is logged.
caf::result<done_atom> acknowledge(replica_ptr self) {
  auto& st = self->state;
  ++st.stats.mutations;
  mark_changed(self);
  if (!logs(self)) return answer_if_asked(self);
  auto promise = self->make_response_promise<done_atom>();
  after_logged(self, [promise](const caf::error& e) mutable {
    if (e)
      promise.deliver(e);
    else
      promise.deliver(done_atom::value);
  });
  return promise;
}

// A batch with a consistency level: applied whole or refused whole; answered once it is logged
// (durability log) and its level's replicas merged it.
caf::result<replica_count> write(replica_ptr self, const write_request& w) {
  auto& st = self->state;
  if (w.ops.empty()) return to_caf_error(error(errc::invalid_argument, "a write needs at least one operation"));
  if (auto ok = st.slot->apply(w.ops); !ok) return to_caf_error(ok.error());
  st.stats.mutations += w.ops.size();
  mark_changed(self);
  auto level = w.level;
  if (!logs(self) && level.level == consistency_level::local) return replica_count{1, group_size(self)};
  auto promise = self->make_response_promise<replica_count>();
  if (logs(self)) {
    after_logged(self, [self, promise, level](const caf::error& e) mutable {
      if (e)
        promise.deliver(e);
      else
        await_replicas(self, promise, level);
    });
  } else {
    broadcast_delta(self);  // now, not at the next sync tick: the write waits for the peers
    await_replicas(self, promise, level);
  }
  return promise;
}

void finish_append(replica_ptr self, const std::shared_ptr<log_batch>& batch, const caf::error& e) {
  auto& st = self->state;
  if (st.newest_append == batch) st.newest_append.reset();
  if (e) {
    log_error(self, "log append failed: " + self->system().render(e));
    st.changed_since_snapshot = true;  // the next snapshot saves what the log lacks
    arm_snapshot(self);
  } else {
    ++st.stats.log_appends;
  }
  send_delta(self, batch->delta);  // first: a write with a consistency level waits for its number
  for (auto& answer : batch->requesters) answer(e);
  compact_if_due(self);
}

// Appends what the unlogged mutations changed to the log, as one entry.
void flush_log(replica_ptr self) {
  auto& st = self->state;
  st.log_flush_scheduled = false;
  auto requesters = std::move(st.unlogged);
  st.unlogged.clear();
  if (!st.slot->has_delta()) {
    // Nothing to log (a remove of a missing element, say): acknowledged with the append that is
    // running, so acknowledgements keep the order of the mutations.
    if (!st.newest_append)
      for (auto& answer : requesters) answer(caf::error{});
    else
      for (auto& r : requesters) st.newest_append->requesters.push_back(std::move(r));
    return;
  }
  auto batch = std::make_shared<log_batch>();
  batch->delta = st.slot->take_delta();
  batch->requesters = std::move(requesters);
  st.newest_append = batch;
  auto seq = ++st.log_seq;
  st.log_bytes += batch->delta.size();
  std::vector<storage::write_op> ops;
  ops.push_back(storage::write_op::append(st.opts.group, seq, batch->delta));
  self->request(*st.opts.storage, std::chrono::seconds(60), write_atom::value, std::move(ops))
    .then([=](done_atom) { finish_append(self, batch, caf::error{}); },
          [=](caf::error& e) { finish_append(self, batch, e); });
}

// Merges what the store holds for the group: the snapshot, then each log entry after it. A damaged
// entry is skipped with an error naming the group and the entry; the others still count.
void restore(replica_ptr self, load_result& r) {
  auto& st = self->state;
  st.state_cache.reset();
  st.digest_cache.reset();
  if (r.found) {
    st.snapshot_bytes = r.value.size();
    if (auto ok = st.slot->merge(r.value); !ok)
      log_error(self, "the stored state is unreadable, starting without it: " + ok.error().to_string());
  }
  for (const auto& entry : r.log) {
    st.log_seq = std::max(st.log_seq, entry.seq);  // numbers are never reused, damaged or not
    st.log_bytes += entry.delta.size();
    if (auto ok = st.slot->merge(entry.delta); !ok)
      log_error(self, "log entry " + std::to_string(entry.seq) + " of group " + st.group_text
                        + " is damaged, skipped: " + ok.error().to_string());
  }
  st.changed_since_snapshot = false;
}

void add_peer(replica_ptr self, const caf::strong_actor_ptr& ptr) {
  auto& st = self->state;
  if (!ptr || ptr == self->ctrl()) return;
  auto peer = caf::actor_cast<replica_actor>(ptr);
  if (!st.peers.emplace(ptr->address(), peer).second) return;
  st.stats.peers = st.peers.size();
  // A new peer gets everything this replica has, and is asked for what it has: if this replica's
  // own announcement has not reached it yet, it ignores our state (we are no peer of it yet), but
  // it answers the request once it knows us, so neither side waits for a digest round.
  send_state(self, peer);
  self->send(peer, need_state_atom::value, st.group_text);
  arm_digest(self);
}

// A peer that went away: its per-peer state goes too, so metadata follows the current members.
void remove_peer(replica_ptr self, const caf::actor_addr& addr) {
  auto& st = self->state;
  st.peers.erase(addr);
  st.stats.peers = st.peers.size();
  st.sending.erase(addr);
  st.acked.erase(addr);
  auto it = st.origin_of.find(addr);
  if (it == st.origin_of.end()) return;
  auto origin = it->second;
  st.origin_of.erase(it);
  st.merged.erase(origin);
  st.awaiting.erase(origin);
  for (auto t = st.transfers.begin(); t != st.transfers.end();)
    t = t->first.first == origin ? st.transfers.erase(t) : std::next(t);
}

void handle_chunk(replica_ptr self, state_chunk& c) {
  auto& st = self->state;
  auto max_chunks = max_state_bytes / st.opts.max_message_bytes + 1;
  if (c.group != st.group_text || c.count == 0 || c.index >= c.count || c.count > max_chunks
      || c.data.size() > st.opts.max_message_bytes || c.merged.size() > max_summary_origins) {
    drop_sender(self, "malformed state chunk from " + quote_input(c.from));
    return;
  }
  auto key = std::make_pair(c.from, c.transfer);
  if (st.transfers.count(key) == 0 && st.transfers.size() >= max_open_transfers)
    st.transfers.erase(st.transfers.begin());
  auto& t = st.transfers[key];
  if (t.parts.empty()) {
    t.parts.resize(c.count);
    t.seq = c.seq;
  }
  if (c.index == 0) t.merged = std::move(c.merged);
  if (t.parts.size() != c.count) {
    st.transfers.erase(key);
    return drop_sender(self, "inconsistent state transfer from " + quote_input(c.from));
  }
  if (t.parts[c.index].empty() && !c.data.empty()) ++t.received;
  t.parts[c.index] = std::move(c.data);
  if (auto sender = sender_of(self)) self->send(sender, chunk_ack_atom::value, st.group_text, c.transfer);
  if (t.received < c.count) return;
  bytes whole;
  for (auto& p : t.parts) whole += p;
  auto seq = t.seq;
  auto merged = std::move(t.merged);
  st.transfers.erase(key);
  ++st.stats.states_received;
  if (!merge_remote(self, whole, "full state")) return;
  // A full state holds every delta its sender had merged: of itself up to `seq`, and of each
  // member it names (the current members of this replica count; others are gone).
  st.awaiting.erase(c.from);
  auto& own = st.merged[c.from];
  own = std::max(own, seq);
  acknowledge_deltas(self, c.from);
  for (const auto& m : merged) {
    if (m.origin == st.self_id || m.origin == c.from) continue;
    for (const auto& [addr, origin] : st.origin_of)
      if (origin == m.origin) st.merged[origin] = std::max(st.merged[origin], m.seq);
  }
}

// A digest from a peer: resend what it lacks of this replica's deltas, ask for what this replica
// lacks of the peer's, and only when both have merged the same deltas of every current member and
// no change of this replica is on its way do the checksums decide (a member that left before its
// last delta reached everyone): then full states go both ways.
void compare_digest(replica_ptr self, const digest_message& d, const replica_actor& sender) {
  auto& st = self->state;
  std::map<std::string, std::uint64_t> theirs;
  for (const auto& m : d.merged) theirs[m.origin] = m.seq;
  auto merged_here = [&](const std::string& origin) {
    if (origin == st.self_id) return st.seq;
    auto it = st.merged.find(origin);
    return it == st.merged.end() ? std::uint64_t{0} : it->second;
  };
  bool mismatch = false;
  if (theirs[st.self_id] < st.seq) {
    resend_deltas(self, sender, theirs[st.self_id] + 1);
    mismatch = true;
  }
  if (theirs[d.from] > merged_here(d.from)) {
    ask_for_deltas(self, d.from, merged_here(d.from) + 1, sender);
    mismatch = true;
  }
  bool same_deltas = theirs[d.from] == merged_here(d.from) && theirs[st.self_id] == st.seq;
  for (const auto& [addr, origin] : st.origin_of) same_deltas = same_deltas && theirs[origin] == merged_here(origin);
  bool own_change_pending = st.slot->has_delta() || st.newest_append;
  if (same_deltas && !own_change_pending && d.digest != no_checksum && d.digest != state_digest(self)) {
    send_state(self, sender, std::nullopt, true);
    ask_for_state(self, d.from, sender);
    mismatch = true;
  }
  if (mismatch) {
    st.quiet_rounds = 0;  // keep checking until it is repaired
    arm_digest(self);
  }
}

// A digest round: the pending delta goes first, so the digest covers what the peers will have.
void digest_round(replica_ptr self) {
  auto& st = self->state;
  st.digest_armed = false;
  if (st.peers.empty()) return;
  broadcast_delta(self);
  // The checksum needs the whole state encoded: only in a round after one without change, when it
  // can decide something (while changes flow, the merged counts alone find what is missing).
  auto checksum = st.changed_since_digest ? no_checksum : state_digest(self);
  digest_message d{st.group_text, st.self_id, checksum, merged_summary(self)};
  // Peers on this node get it directly; membership takes it to the other nodes, together with the
  // digests of every other group of this node in the same round (one message per node).
  bool remote_peers = false;
  for (auto& [addr, peer] : st.peers) {
    if (addr.node() != self->node() && st.opts.membership)
      remote_peers = true;
    else
      self->send(peer, digest_atom::value, d);
  }
  if (remote_peers) self->send(*st.opts.membership, relay_digest_atom::value, d);
  st.stats.digests_sent += st.peers.size();
  st.awaiting.clear();  // unanswered requests may be asked again
  st.quiet_rounds = st.changed_since_digest ? 0 : st.quiet_rounds + 1;
  st.changed_since_digest = false;
  if (st.quiet_rounds < quiet_digest_rounds) arm_digest(self);
}

void join_group(replica_ptr self);

// The marker could not be erased for sure: the replica keeps its new incarnation (one more owner
// in the group's metadata, never a reused dot).
void keep_fresh_incarnation(replica_ptr self, const caf::error& e, load_result& r) {
  log_error(self, "cannot erase the clean-stop marker, starting with a new incarnation: " + self->system().render(e));
  restore(self, r);
  join_group(self);
}

// The group was dropped everywhere: its stored state (snapshot and log) goes, and the replica stops
// without a final snapshot. Writes and reads still waiting fail; nothing else is handled until the
// store has erased the group.
void drop(replica_ptr self) {
  auto& st = self->state;
  if (st.dropped) return;
  st.dropped = true;
  auto gone = to_caf_error(error(errc::not_found, "group " + st.group_text + " was dropped"));
  for (auto& [id, w] : st.writes) w.promise.deliver(gone);
  for (auto& [id, r] : st.reads) r.promise.deliver(gone);
  st.writes.clear();
  st.reads.clear();
  if (!st.opts.storage) return self->quit();
  std::vector<storage::write_op> ops{storage::write_op::erase(st.opts.group),
                                     storage::write_op::erase(detail::marker_key(st.opts.group))};
  self->request(*st.opts.storage, std::chrono::seconds(60), write_atom::value, std::move(ops))
    .await([=](done_atom) { self->quit(); },
           [=](caf::error& e) {
             log_error(self, "cannot erase the stored state of the dropped group: " + self->system().render(e));
             self->quit();
           });
}

// What a replica that stops cleanly writes, in one transaction: its state if it changed since the
// last snapshot (every dot it made is then stored), and the marker that lets its next start reuse
// its incarnation.
std::vector<storage::write_op> final_ops(replica_ptr self) {
  auto& st = self->state;
  std::vector<storage::write_op> ops;
  if (st.changed_since_snapshot) ops = snapshot_ops(self, st.slot->state());
  ops.push_back(
    storage::write_op::save(detail::marker_key(st.opts.group), detail::encode_marker(st.self_id, st.opts.group)));
  return ops;
}

// Start with a store: load the group and the marker of a clean stop. With a marker, the replica
// goes on with the incarnation it names, once the marker's erasure is on disk (a crash from then
// on must not let a later start reuse it). Then the state merges and the replica joins its group;
// until then it handles nothing else.
void start_from_store(replica_ptr self) {
  auto& st = self->state;
  auto loaded = [=](load_result& r) {
    restore(self, r);
    join_group(self);
  };
  self->request(*st.opts.storage, std::chrono::seconds(60), load_atom::value, st.opts.group)
    .await(
      [=](load_result& r) {
        auto& st = self->state;
        self->request(*st.opts.storage, std::chrono::seconds(60), load_atom::value, detail::marker_key(st.opts.group))
          .await(
            [=](load_result& marker) mutable {
              auto& st = self->state;
              auto reused = marker.found
                              ? detail::incarnation_in_marker(marker.value, st.opts.group, st.opts.replica_id)
                              : std::nullopt;
              if (!reused) return loaded(r);
              std::vector<storage::write_op> erase{storage::write_op::erase(detail::marker_key(st.opts.group))};
              self->request(*st.opts.storage, std::chrono::seconds(60), write_atom::value, std::move(erase))
                .await(
                  [=](done_atom) mutable {
                    self->request(*self->state.opts.storage, std::chrono::seconds(60), flush_atom::value)
                      .await(
                        [=](done_atom) mutable {
                          auto& st = self->state;
                          st.self_id = *reused;
                          st.slot = st.make_slot(st.self_id);
                          loaded(r);
                        },
                        [=](caf::error& e) mutable { keep_fresh_incarnation(self, e, r); });
                  },
                  [=](caf::error& e) mutable { keep_fresh_incarnation(self, e, r); });
            },
            [=](caf::error&) mutable { loaded(r); });
      },
      [=](caf::error& e) {
        log_error(self, "cannot load the stored state: " + self->system().render(e));
        join_group(self);
      });
}

void join_group(replica_ptr self) {
  auto& st = self->state;
  if (!st.opts.membership) return;
  self->request(*st.opts.membership, caf::infinite, join_group_atom::value, st.group_text, self->ctrl())
    .then([=](std::vector<caf::strong_actor_ptr>& peers) {
      for (auto& p : peers) add_peer(self, p);
    });
}

replica_impl::behavior_type replica_behavior(replica_ptr self, std::shared_ptr<replica_state> init) {
  self->state.opts = std::move(init->opts);
  self->state.group_text = std::move(init->group_text);
  self->state.self_id = std::move(init->self_id);
  self->state.slot = std::move(init->slot);
  self->state.make_slot = std::move(init->make_slot);
  self->state.drop_rng.seed(self->state.opts.drop_seed);

  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.opts.storage && !st.dropped) caf::anon_send(*st.opts.storage, write_atom::value, final_ops(self));
    self->quit(msg.reason);
  });
  // An error message from anyone (a peer that rejects what it got, a hostile node) must not stop
  // the replica: CAF's default error handler would.
  self->set_error_handler(
    [=](caf::error& e) { log_error(self, "error message received: " + self->system().render(e)); });
  self->set_down_handler([=](caf::down_msg& msg) {
    for (auto it = self->state.subscribers.begin(); it != self->state.subscribers.end();)
      it = it->address() == msg.source ? self->state.subscribers.erase(it) : std::next(it);
  });

  // Load the stored state first; nothing else is handled until it has been merged.
  if (self->state.opts.storage)
    start_from_store(self);
  else
    join_group(self);

  return {
    [=](mutate_atom, const crdt::operation& op) -> caf::result<done_atom> {
      if (auto ok = self->state.slot->apply(op); !ok) return to_caf_error(ok.error());
      return acknowledge(self);
    },
    [=](mutate_atom, const local_mutation& m) -> caf::result<done_atom> {
      if (auto ok = self->state.slot->apply(m); !ok) return to_caf_error(ok.error());
      return acknowledge(self);
    },
    [=](mutate_atom, const write_request& w) -> caf::result<replica_count> { return write(self, w); },
    [=](state_atom) -> bytes { return encoded_state(self); },
    [=](size_atom) -> caf::result<std::uint64_t> {
      if (auto n = self->state.slot->size()) return *n;
      return to_caf_error(error(errc::invalid_argument, self->state.slot->type_name() + " holds no elements to count"));
    },
    [=](read_atom, const consistency& level) -> caf::result<read_result> { return read(self, level); },
    [=](broadcast_atom) -> done_atom {
      if (logs(self) && self->state.log_flush_scheduled) flush_log(self);  // logged deltas go out at once
      broadcast_delta(self);
      notify_subscribers(self);
      return done_atom::value;
    },
    [=](snapshot_atom) -> caf::result<done_atom> {
      if (!self->state.opts.storage) return done_atom::value;
      auto promise = self->make_response_promise<done_atom>();
      save_snapshot(self, [promise](caf::error e) mutable {
        if (e)
          promise.deliver(std::move(e));
        else
          promise.deliver(done_atom::value);
      });
      return promise;
    },
    [=](stats_atom) -> replica_stats {
      auto out = self->state.stats;
      out.origins = self->state.merged.size();
      out.replicas = group_size(self);
      return out;
    },
    [=](add_subscriber_atom, caf::actor& who) {
      if (!self->state.subscribers.insert(who).second) return;
      self->monitor(who);
      arm_sync(self);
    },
    [=](remove_subscriber_atom, caf::actor& who) { self->state.subscribers.erase(who); },
    [=](delta_atom, delta_message& d) {
      if (!from_peer(self)) return;
      if (d.group != self->state.group_text)
        return drop_sender(self, "delta for another group: " + quote_input(d.group));
      if (d.delta.size() > self->state.opts.max_message_bytes)
        return drop_sender(self, "delta of " + std::to_string(d.delta.size()) + " bytes exceeds max_message_bytes");
      ++self->state.stats.deltas_received;
      note_origin(self, d.from);
      if (!merge_remote(self, d.delta, "delta")) return;
      track_sequence(self, d.from, d.seq);
      acknowledge_deltas(self, d.from);
    },
    [=](chunk_atom, state_chunk& c) {
      if (!from_peer(self)) return;
      note_origin(self, c.from);
      handle_chunk(self, c);
    },
    [=](chunk_ack_atom, const std::string& group, std::uint64_t transfer) {
      if (!from_peer(self) || group != self->state.group_text) return;
      if (auto sender = sender_of(self)) on_chunk_ack(self, sender, transfer);
    },
    [=](digest_atom, const digest_message& d) {
      if (!from_peer(self) || d.group != self->state.group_text) return;
      if (d.merged.size() > max_summary_origins) return drop_sender(self, "digest listing too many origins");
      note_origin(self, d.from);
      if (auto sender = sender_of(self)) compare_digest(self, d, sender);
    },
    [=](need_state_atom, const std::string& group) {
      if (!from_peer(self) || group != self->state.group_text) return;
      if (auto sender = sender_of(self)) send_state(self, sender, std::nullopt, true);
    },
    [=](need_deltas_atom, const std::string& group, std::uint64_t first) {
      if (!from_peer(self) || group != self->state.group_text) return;
      if (auto sender = sender_of(self)) resend_deltas(self, sender, first);
    },
    [=](write_ack_atom, const std::string& group, const std::string& from, std::uint64_t through) {
      if (from_peer(self) && group == self->state.group_text) on_write_ack(self, from, through);
    },
    [=](read_state_atom, const std::string& group, std::uint64_t id) {
      if (!from_peer(self) || group != self->state.group_text) return;
      if (auto sender = sender_of(self)) send_state(self, sender, id, true);  // read_done follows its last chunk
    },
    [=](read_done_atom, const std::string& group, std::uint64_t id) {
      if (from_peer(self) && group == self->state.group_text) on_read_done(self, id);
    },
    [=](drop_atom, const std::string& group) {
      if (from_membership(self) && group == self->state.group_text) drop(self);
    },
    [=](write_timeout_atom, std::uint64_t id) { on_write_timeout(self, id); },
    [=](read_timeout_atom, std::uint64_t id) { on_read_timeout(self, id); },
    [=](peer_up_atom, const std::string& group, caf::strong_actor_ptr& peer) {
      if (from_membership(self) && group == self->state.group_text) add_peer(self, peer);
    },
    [=](peer_down_atom, const std::string& group, const caf::actor_addr& peer) {
      if (from_membership(self) && group == self->state.group_text) remove_peer(self, peer);
    },
    [=](log_flush_atom) {
      if (self->state.log_flush_scheduled) flush_log(self);
    },
    [=](sync_tick_atom) {
      self->state.sync_armed = false;
      broadcast_delta(self);
      notify_subscribers(self);
    },
    [=](snapshot_tick_atom) {
      auto& st = self->state;
      st.snapshot_armed = false;
      ++st.stats.snapshot_ticks;
      if (!st.changed_since_snapshot) return;
      if (st.snapshot_running)
        arm_snapshot(self);  // after the one that runs
      else
        save_snapshot(self, [](caf::error) {});
    },
    [=](digest_tick_atom) { digest_round(self); },
  };
}

status check_options(const replication_options& o) {
  auto invalid = [](const std::string& what) { return error(errc::invalid_argument, "replication: " + what); };
  if (o.replica_id.empty()) return invalid("replica_id is empty");
  if (o.replica_id.find('@') != std::string::npos) return invalid("replica_id may not contain '@'");
  if (auto ok = o.group.validate(); !ok) return invalid(ok.error().message());
  if (o.sync_interval.count() <= 0) return invalid("sync_interval must be positive");
  if (o.snapshot_interval.count() <= 0) return invalid("snapshot_interval must be positive");
  if (o.digest_interval.count() < 0) return invalid("digest_interval is negative");
  if (o.max_message_bytes < 1024) return invalid("max_message_bytes must be at least 1024");
  if (!(o.drop_deltas >= 0.0 && o.drop_deltas <= 1.0)) return invalid("drop_deltas must be within [0, 1]");
  if (o.durability == durability_mode::log && !o.storage) return invalid("durability log needs a storage actor");
  if (o.max_log_bytes == 0) return invalid("max_log_bytes must be positive");
  if (o.name.size() > 10) return invalid("name '" + o.name + "' is longer than 10 characters");
  for (char c : o.name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return invalid("name '" + o.name + "' has characters other than [A-Za-z0-9_]");
  return {};
}

}  // namespace

expected<replica_actor> spawn_replica(caf::actor_system& sys, replication_options opts, slot_factory make_slot) {
  if (auto ok = check_options(opts); !ok) return ok.error();
  if (opts.digest_interval.count() == 0) opts.digest_interval = 4 * opts.sync_interval;
  auto init = std::make_shared<replica_state>();
  init->group_text = opts.group.to_string();
  init->self_id = detail::new_incarnation(opts.replica_id);
  init->slot = make_slot(init->self_id);
  init->make_slot = std::move(make_slot);
  auto name = opts.name;
  init->opts = std::move(opts);
  auto impl = sys.spawn(replica_behavior, init);
  auto handle = caf::actor_cast<replica_actor>(impl);
  if (!name.empty()) sys.registry().put(caf::atom_from_string(name), caf::actor_cast<caf::strong_actor_ptr>(handle));
  return handle;
}

void configure_node(caf::actor_system_config& cfg) {
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{connection_timeout});
  // A node that learns of another through a third connects to it directly, so that the loss of
  // the third does not cut them off, and the death of either is seen at once by the other.
  cfg.set("middleman.enable-automatic-connections", true);
  // CAF's work-stealing workers poll before they sleep: after each job, 100 attempts without a
  // pause, then 500 with a 50 us sleep each, and then, asleep, they wake every 10 ms to steal.
  // That costs about 1% of a core per idle node, and under sporadic load (1,000 commands/s) most of
  // a node's CPU goes to those sleeps. New work for a sleeping worker wakes it at once, so fewer
  // polls and a longer sleep cost only the time until an idle worker steals from a busy one. Here:
  // 10 polls without a pause, none with one (each of those pauses is a nanosleep and a thread
  // switch; with 10 of them a grove-node taking 1,000 commands/s spent 16.5 % of a core, with none
  // 13 %), then asleep until woken, stealing once a second.
  cfg.set("work-stealing.aggressive-poll-attempts", scheduler_poll_attempts);
  cfg.set("work-stealing.moderate-poll-attempts", scheduler_paused_poll_attempts);
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{relaxed_scheduler_sleep});
}

}  // namespace grove::actors
