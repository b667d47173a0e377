// The replication server's actor: a shell around the protocol core (replica/replica_core.hpp). It
// turns CAF messages into calls of the core and carries out the effects the core returns: messages
// to peers, timers as delayed messages to itself, requests to the storage actor, answers to
// clients, and the join of its group in membership. It decides nothing itself.
#include <cctype>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/replica.hpp"
#include "grove/crdt/escape.hpp"
#include "incarnation.hpp"
#include "log_limiter.hpp"
#include "observe/replica_observer.hpp"
#include "pending_mutations.hpp"
#include "replica/replica_core.hpp"

namespace grove::actors {

namespace {

/// A timer of the core firing: (timer_atom, kind, id).
using timer_atom = caf::atom_constant<caf::atom("grv_timer")>;
using replica_impl = replica_actor::extend<caf::reacts_to<timer_atom, std::uint8_t, std::uint64_t>>;

// How long the shell waits for the storage actor before it hands the core an error.
constexpr std::chrono::seconds storage_timeout{60};

using promise = std::variant<caf::typed_response_promise<done_atom>, caf::typed_response_promise<replica_count>,
                             caf::typed_response_promise<read_result>>;

struct shell_state {
  std::unique_ptr<replica::replica_core> core;
  replication_options opts;
  replica::effects out;
  // Peers: the core knows them by number.
  std::map<caf::actor_addr, replica::peer_id> peer_ids;
  std::map<replica::peer_id, replica_actor> peers;
  replica::peer_id next_peer = 0;
  std::set<caf::actor> subscribers;
  // Requests answered later, by the number the core knows them by.
  std::map<replica::request_id, promise> waiting;
  replica::request_id next_request = 0;
  detail::log_limiter log;
  std::unique_ptr<detail::replica_observer> observer;  // metrics and progress; null: none wanted
  replica::timestamp stranger_reported{0};             // when a stranger was last reported to membership
  std::set<caf::actor_addr> refused_from;              // replicas refused before they were peers (bounded)
};

using replica_ptr = replica_impl::stateful_pointer<shell_state>;

// Senders a replica refused before they were its peers, remembered so that it asks them for their
// state once they are (their greeting was among the refused); beyond this many, forgotten.
constexpr std::size_t max_refused_remembered = 4096;

// The core's clock: the wall clock (retired incarnations expire at a time that survives restarts).
replica::timestamp now() {
  return std::chrono::duration_cast<replica::timestamp>(std::chrono::system_clock::now().time_since_epoch());
}

void carry_out(replica_ptr self);

// Feeds one input to the core and carries out what it asks for.
template <class F>
void feed(replica_ptr self, F input) {
  input(*self->state.core, now(), self->state.out);
  carry_out(self);
}

void storage_done(replica_ptr self, std::uint64_t id, replica::storage_result r) {
  if (auto& observer = self->state.observer) observer->storage_done(id, r);
  feed(self, [&](auto& core, auto t, auto& out) { core.on_storage_done(id, std::move(r), t, out); });
}

replica::storage_result failed(const caf::error& e) { return {from_caf_error(e), false, {}, {}}; }

// Sends a storage request; a blocking one is awaited (CAF keeps every other message in the mailbox
// until it is answered), the others are answered whenever they are.
void ask_storage(replica_ptr self, replica::storage_request& r) {
  const auto& storage = *self->state.opts.storage;
  using kind = replica::storage_request::kind;
  if (!r.expects_answer) {
    caf::anon_send(storage, write_atom::value, std::move(r.ops));
    return;
  }
  auto id = r.id;
  auto on_error = [=](caf::error& e) { storage_done(self, id, failed(e)); };
  auto on_done = [=](done_atom) { storage_done(self, id, {}); };
  auto on_load = [=](load_result& l) { storage_done(self, id, {{}, l.found, std::move(l.value), std::move(l.log)}); };
  auto await_or_then = [&](auto handle, auto on_value) {
    if (r.blocking)
      handle.await(on_value, on_error);
    else
      handle.then(on_value, on_error);
  };
  switch (r.what) {
    case kind::load: return await_or_then(self->request(storage, storage_timeout, load_atom::value, r.key), on_load);
    case kind::write:
      return await_or_then(self->request(storage, storage_timeout, write_atom::value, std::move(r.ops)), on_done);
    case kind::flush: return await_or_then(self->request(storage, storage_timeout, flush_atom::value), on_done);
  }
}

void deliver(caf::typed_response_promise<done_atom>& p, replica::client_reply&) { p.deliver(done_atom::value); }
void deliver(caf::typed_response_promise<replica_count>& p, replica::client_reply& r) { p.deliver(r.count); }
void deliver(caf::typed_response_promise<read_result>& p, replica::client_reply& r) {
  p.deliver(read_result{r.state ? *r.state : bytes{}, r.count});
}

// A write or read at a consistency level that failed (its timeout, say): for the metrics.
void observe_failure(replica_ptr self, const promise& p, const error& e) {
  auto& observer = self->state.observer;
  if (!observer) return;
  if (std::holds_alternative<caf::typed_response_promise<replica_count>>(p))
    observer->failed(node_metrics::operation::write, e);
  else if (std::holds_alternative<caf::typed_response_promise<read_result>>(p))
    observer->failed(node_metrics::operation::read, e);
}

void answer(replica_ptr self, replica::client_reply& r) {
  auto it = self->state.waiting.find(r.id);
  if (it == self->state.waiting.end()) return;  // a one-way request: nobody waits
  if (!r.outcome) observe_failure(self, it->second, r.outcome.error());
  std::visit(
    [&](auto& p) {
      if (!r.outcome && r.needed > 0)
        p.deliver(to_caf_error(r.outcome.error(), {r.count.acks, r.needed, r.count.replicas}));
      else if (!r.outcome)
        p.deliver(to_caf_error(r.outcome.error()));
      else
        deliver(p, r);
    },
    it->second);
  self->state.waiting.erase(it);
}

void add_peer(replica_ptr self, const caf::strong_actor_ptr& ptr);

void join_group(replica_ptr self) {
  auto& st = self->state;
  if (!st.opts.membership) return;
  self
    ->request(*st.opts.membership, caf::infinite, join_group_atom::value, st.core->group_text(), self->ctrl(),
              st.opts.replica_id)
    .then([=](std::vector<caf::strong_actor_ptr>& peers) {
      for (auto& p : peers) add_peer(self, p);
    });
}

void carry_out(replica_ptr self) {
  auto& st = self->state;
  auto& out = st.out;
  if (out.empty()) return;  // most mutations: nothing to do until the sync timer
  for (auto& s : out.sends) {
    auto it = st.peers.find(s.to);
    if (it == st.peers.end()) continue;
    if (st.observer) st.observer->sent(s.message);
    std::visit([&](auto& m) { self->send(it->second, std::move(m)); }, s.message);
  }
  for (auto& r : out.relays) {
    std::vector<caf::node_id> nodes;
    for (auto peer : r.to)
      if (auto it = st.peers.find(peer); it != st.peers.end()) nodes.push_back(it->second.node());
    if (st.observer) st.observer->relayed(r.digest, nodes.size());
    self->send(*st.opts.membership, relay_digest_atom::value, std::move(r.digest), std::move(nodes));
  }
  for (auto& t : out.timers) {
    auto kind = static_cast<std::uint8_t>(t.kind);
    if (t.delay.count() == 0)
      self->send(self, timer_atom::value, kind, t.id);
    else
      self->delayed_send(self, t.delay, timer_atom::value, kind, t.id);
  }
  for (auto& line : out.log_lines) st.log.write(line);
  if (out.notify)
    for (const auto& s : st.subscribers) caf::anon_send(s, changed_atom::value, st.core->group_text(), *out.notify);
  // Answers and storage requests last: an awaited request defers everything after it.
  for (auto& r : out.replies) answer(self, r);
  bool join = out.join, stop = out.stop;
  auto storage = std::move(out.storage);
  out.clear();
  for (auto& r : storage) {
    if (st.observer) st.observer->storage_requested(r);
    ask_storage(self, r);
  }
  if (join) join_group(self);
  if (stop) self->quit();
}

// Remembers the promise of a request that the core answers later.
template <class T>
caf::result<T> later(replica_ptr self, replica::request_id id) {
  auto p = self->make_response_promise<T>();
  self->state.waiting.emplace(id, p);
  return p;
}

// done for a request; nothing for a one-way message (CAF would make a response message for it and
// then drop it: an allocation per mutation on the one-way path).
caf::result<done_atom> done_if_asked(replica_ptr self) {
  auto* current = self->current_mailbox_element();
  if (current && !current->mid.is_request()) return caf::delegated<done_atom>{};
  return done_atom::value;
}

// A client operation, for the metrics.
void observe_operation(replica_ptr self, node_metrics::operation op, consistency_level level, std::uint64_t n = 1) {
  if (auto& observer = self->state.observer) observer->operation(op, level, n);
}

template <class Mutation>
caf::result<done_atom> mutate(replica_ptr self, const Mutation& m) {
  observe_operation(self, node_metrics::operation::write, consistency_level::local);
  auto& st = self->state;
  auto id = ++st.next_request;
  auto r = st.core->mutate(m, id, replica::input_time{now}, st.out);  // reads the clock only to arm a digest round
  carry_out(self);
  if (!r) return to_caf_error(r.error());
  if (*r == replica::replica_core::answer::now) return done_if_asked(self);
  return later<done_atom>(self, id);
}

// -- peers ---------------------------------------------------------------------------------------

void add_peer(replica_ptr self, const caf::strong_actor_ptr& ptr) {
  auto& st = self->state;
  if (!ptr || ptr == self->ctrl()) return;
  auto [it, fresh] = st.peer_ids.emplace(ptr->address(), 0);
  if (fresh) it->second = ++st.next_peer;
  st.peers[it->second] = caf::actor_cast<replica_actor>(ptr);
  bool remote = ptr->node() != self->node();
  bool refused_before = st.refused_from.erase(ptr->address()) > 0;
  feed(self, [&](auto& core, auto t, auto& out) { core.peer_up(it->second, remote, refused_before, t, out); });
}

void remove_peer(replica_ptr self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto it = st.peer_ids.find(addr);
  if (it == st.peer_ids.end()) return;
  feed(self, [&](auto& core, auto t, auto& out) { core.peer_down(it->second, t, out); });
  st.peers.erase(it->second);
  st.peer_ids.erase(it);
}

// A message that no handler may take from its sender: counted (and ignored by the caller).
void refuse(replica_ptr self) {
  self->state.core->refuse();
  if (auto& observer = self->state.observer) observer->refused();
}

// A replica of another node that this one does not know as a peer may be one whose announcement
// was lost: membership greets its node again (membership_core::stranger). Once a second at most.
void report_stranger(replica_ptr self, const caf::strong_actor_ptr& sender) {
  auto& st = self->state;
  if (!sender || !st.opts.membership || sender->node() == self->node()) return;
  auto t = now();
  if (t - st.stranger_reported < std::chrono::seconds(1)) return;
  st.stranger_reported = t;
  self->send(*st.opts.membership, stranger_atom::value, st.opts.group.to_string(), sender);
}

// The peer that sent the current message, if it is one (as membership announced it, and not
// dropped by the core since). Anyone else is ignored and counted: a stranger must not be able to
// make a replica merge its bytes or send it the full state.
std::optional<replica::peer_id> sending_peer(replica_ptr self) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (sender)
    if (auto it = st.peer_ids.find(sender->address()); it != st.peer_ids.end() && st.core->is_peer(it->second))
      return it->second;
  refuse(self);
  if (sender && st.refused_from.size() < max_refused_remembered) st.refused_from.insert(sender->address());
  report_stranger(self, sender);
  return std::nullopt;
}

// Whether the current message comes from this replica's membership actor (peer_up, peer_down, drop).
bool from_membership(replica_ptr self) {
  auto sender = self->current_sender();
  auto& membership = self->state.opts.membership;
  if (sender && membership && sender->address() == caf::actor_cast<caf::actor_addr>(*membership)) return true;
  refuse(self);
  return false;
}

template <class Message>
void from_peer(replica_ptr self, Message& m) {
  auto peer = sending_peer(self);
  if (!peer) return;
  using plain = std::decay_t<Message>;
  if constexpr (std::is_same_v<
                  plain, delta_message> || std::is_same_v<plain, state_chunk> || std::is_same_v<plain, digest_message>)
    if (auto& observer = self->state.observer) observer->received(m);
  feed(self, [&](auto& core, auto t, auto& out) { core.receive(*peer, m, t, out); });
}

// The operations a mutation_writer queued: nobody waits for them, refusals are counted in the
// writer.
void mutate_each(replica_ptr self, const mutation_batch& batch) {
  if (!batch.pending) return refuse(self);  // only a writer of this process makes a batch
  auto& st = self->state;
  const auto& ops = batch.pending->take();
  if (ops.empty()) return;
  observe_operation(self, node_metrics::operation::write, consistency_level::local, ops.size());
  auto refused = st.core->mutate_each(ops, ++st.next_request, replica::input_time{now}, st.out);
  carry_out(self);
  batch.pending->count_refusals(refused.count, refused.last);
}

replica_impl::behavior_type replica_behavior(replica_ptr self, std::shared_ptr<shell_state> init) {
  auto& st = self->state;
  st.core = std::move(init->core);
  st.opts = std::move(init->opts);
  st.observer = detail::replica_observer::make(st.opts.metrics, st.opts.events, st.core->group_text());
  self->set_exit_handler([=](caf::exit_msg& msg) {
    self->state.core->stop(self->state.out);
    self->state.out.stop = false;  // quit with the exit's reason
    carry_out(self);
    self->quit(msg.reason);
  });
  // An error message from anyone (a peer that rejects what it got, a hostile node) must not stop
  // the replica: CAF's default error handler would.
  self->set_error_handler([=](caf::error& e) {
    feed(self,
         [&](auto& core, auto, auto& out) { core.report("error message received: " + self->system().render(e), out); });
  });
  // A message no handler takes (another version, a stranger) is counted and logged (rate-limited),
  // never printed on stdout as CAF's default would.
  self->set_default_handler([=](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
    auto& st = self->state;
    refuse(self);
    st.log.write("[grove] replica " + st.core->incarnation() + " of " + quote_input(st.core->group_text())
                 + ": an unexpected message was refused: " + quote_input(caf::to_string(m.content())));
    return caf::sec::unexpected_message;
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    for (auto it = subs.begin(); it != subs.end();) it = it->address() == msg.source ? subs.erase(it) : std::next(it);
    feed(self, [&](auto& core, auto t, auto& out) { core.set_subscribers(!subs.empty(), t, out); });
  });
  // Load the stored state first; nothing else is handled until it has been merged.
  feed(self, [](auto& core, auto t, auto& out) { core.start(t, out); });

  return {
    [=](mutate_atom, const crdt::operation& op) { return mutate(self, op); },
    [=](mutate_atom, const local_mutation& m) { return mutate(self, m); },
    [=](mutate_atom, const mutation_batch& batch) { mutate_each(self, batch); },
    [=](mutate_atom, const write_request& w) -> caf::result<replica_count> {
      observe_operation(self, node_metrics::operation::write, w.level.level);
      auto& st = self->state;
      auto id = ++st.next_request;
      auto r = st.core->write(w, id, now(), st.out);
      carry_out(self);
      if (!r) return to_caf_error(r.error());
      if (*r) return **r;
      return later<replica_count>(self, id);
    },
    [=](read_atom, const consistency& level) -> caf::result<read_result> {
      observe_operation(self, node_metrics::operation::read, level.level);
      auto& st = self->state;
      auto id = ++st.next_request;
      auto r = st.core->read(level, id, now(), st.out);
      carry_out(self);
      if (r) return std::move(*r);
      return later<read_result>(self, id);
    },
    [=](state_atom) -> bytes {
      observe_operation(self, node_metrics::operation::read, consistency_level::local);
      return *self->state.core->state();
    },
    [=](size_atom) -> caf::result<std::uint64_t> {
      if (auto n = self->state.core->size()) return *n;
      return to_caf_error(error(errc::invalid_argument, self->state.core->type_name() + " holds no elements to count"));
    },
    [=](broadcast_atom) -> done_atom {
      feed(self, [](auto& core, auto t, auto& out) { core.broadcast(t, out); });
      return done_atom::value;
    },
    [=](snapshot_atom) -> caf::result<done_atom> {
      auto& st = self->state;
      auto id = ++st.next_request;
      bool done = st.core->snapshot(id, now(), st.out);
      carry_out(self);
      if (done) return done_atom::value;
      return later<done_atom>(self, id);
    },
    [=](stats_atom) -> replica_stats { return self->state.core->stats(); },
    [=](add_subscriber_atom, caf::actor& who) {
      if (!self->state.subscribers.insert(who).second) return;
      self->monitor(who);
      feed(self, [](auto& core, auto t, auto& out) { core.set_subscribers(true, t, out); });
    },
    [=](remove_subscriber_atom, caf::actor& who) {
      auto& subs = self->state.subscribers;
      subs.erase(who);
      feed(self, [&](auto& core, auto t, auto& out) { core.set_subscribers(!subs.empty(), t, out); });
    },
    [=](delta_message& m) { from_peer(self, m); },
    [=](state_chunk& m) { from_peer(self, m); },
    [=](const chunk_ack& m) { from_peer(self, m); },
    [=](const digest_message& m) { from_peer(self, m); },
    [=](const state_request& m) { from_peer(self, m); },
    [=](const deltas_request& m) { from_peer(self, m); },
    [=](const delta_ack& m) { from_peer(self, m); },
    [=](const read_request& m) { from_peer(self, m); },
    [=](const retire_query& m) { from_peer(self, m); },
    [=](const retire_answer& m) { from_peer(self, m); },
    [=](drop_atom, const std::string& group) {
      if (from_membership(self) && group == self->state.core->group_text())
        feed(self, [](auto& core, auto, auto& out) { core.drop(out); });
    },
    [=](replicas_atom, const std::string& group, const std::vector<std::string>& ids) {
      if (from_membership(self) && group == self->state.core->group_text())
        feed(self, [&](auto& core, auto, auto& out) { core.replicas_known(ids, out); });
    },
    [=](peer_up_atom, const std::string& group, caf::strong_actor_ptr& peer) {
      if (from_membership(self) && group == self->state.core->group_text()) add_peer(self, peer);
    },
    [=](peer_down_atom, const std::string& group, const caf::actor_addr& peer) {
      if (from_membership(self) && group == self->state.core->group_text()) remove_peer(self, peer);
    },
    [=](timer_atom, std::uint8_t kind, std::uint64_t id) {
      auto sender = self->current_sender();
      if (sender && sender != self->ctrl()) return refuse(self);  // only its own timers
      feed(self, [&](auto& core, auto t, auto& out) {
        core.on_timer(static_cast<replica::timer_kind>(kind), id, t, out);
        if (auto& observer = self->state.observer) observer->timer_fired(static_cast<replica::timer_kind>(kind), out);
      });
    },
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

replica::core_options core_options_of(const replication_options& o) {
  replica::core_options c;
  c.replica_id = o.replica_id;
  c.group = o.group;
  c.sync_interval = o.sync_interval;
  c.snapshot_interval = o.snapshot_interval;
  c.digest_interval = o.digest_interval.count() == 0 ? 4 * o.sync_interval : o.digest_interval;
  c.has_storage = o.storage.has_value();
  c.durability = o.durability;
  c.max_log_bytes = o.max_log_bytes;
  c.max_message_bytes = o.max_message_bytes;
  c.transfer_timeout = std::max(std::chrono::milliseconds(1000), 2 * c.digest_interval);
  c.prune_interval = c.digest_interval;
  c.drop_deltas = o.drop_deltas;
  c.drop_seed = o.drop_seed;
  return c;
}

}  // namespace

expected<replica_actor> spawn_replica(caf::actor_system& sys, replication_options opts, slot_factory make_slot) {
  if (auto ok = check_options(opts); !ok) return ok.error();
  auto init = std::make_shared<shell_state>();
  init->core = std::make_unique<replica::replica_core>(core_options_of(opts), detail::new_incarnation(opts.replica_id),
                                                       std::move(make_slot));
  auto name = opts.name;
  init->opts = std::move(opts);
  auto handle = caf::actor_cast<replica_actor>(sys.spawn(replica_behavior, init));
  if (!name.empty()) sys.registry().put(caf::atom_from_string(name), caf::actor_cast<caf::strong_actor_ptr>(handle));
  return handle;
}

}  // namespace grove::actors
