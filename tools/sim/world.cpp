#include "world.hpp"

#include <algorithm>
#include <iostream>

#include "grove/actors/crdt_slot.hpp"
#include "grove/crdt/gcounter.hpp"
#include "grove/crdt/orset.hpp"

namespace grove::sim {

namespace core = actors::replica;
namespace mcore = actors::membership;

namespace {

// Timing of the simulated nodes: what a test of grove-node would use, scaled down.
constexpr timestamp sync_interval{100};
constexpr timestamp snapshot_interval{1000};
constexpr timestamp digest_interval{400};
constexpr std::size_t max_message_bytes = 256;
constexpr timestamp storage_latency{1};
constexpr timestamp sync_latency{2};
constexpr timestamp network_delay{1};
constexpr timestamp write_timeout{1000};
constexpr timestamp heal_time{60000};
constexpr timestamp auto_save{200};    // a store that is not durable syncs this often (DETS's auto_save)
constexpr timestamp commit_slack{20};  // from taking in a drop to its tombstone committed
constexpr std::uint16_t port = 4000;

using counter_slot = actors::typed_slot<crdt::gcounter>;
using set_slot = actors::typed_slot<crdt::orset<std::string>>;

bool is_counter(const storage::group_key& g) { return g.kind == "counter"; }

}  // namespace

fault_rates fault_rates::draw(random& rng) {
  fault_rates r;
  auto maybe = [&](double p, double high) { return rng.chance(p) ? rng.unit() * high : 0.0; };
  r.loss = maybe(0.5, 0.1);
  r.duplication = maybe(0.3, 0.05);
  r.jitter = timestamp(rng.chance(0.5) ? rng.between(1, 50) : 0);
  r.partition = maybe(0.6, 0.03);
  r.crash = maybe(0.6, 0.02);
  r.clean_restart = maybe(0.6, 0.02);
  r.backup = maybe(0.5, 0.05);
  r.restore = r.backup > 0 ? maybe(0.6, 0.02) : 0.0;
  r.drop = maybe(0.3, 0.004);
  r.durable_everywhere = rng.chance(0.5);
  return r;
}

// -- the parts of the world -------------------------------------------------------------------------

// One node's store: what its storage actor committed (`current`) and what is synced to disk; a
// crash keeps only the second. A durable store syncs every commit.
struct world::disk {
  struct group {
    std::optional<bytes> snapshot;
    std::map<std::uint64_t, bytes> log;
  };
  using groups = std::map<storage::group_key, group>;
  groups current, synced;
  bool durable = false;
  timestamp busy_until{0};

  void apply(const std::vector<storage::write_op>& ops) {
    for (const auto& op : ops) {
      auto& g = current[op.key];
      switch (op.what) {
        case storage::write_op::kind::save: g.snapshot = op.value; break;
        case storage::write_op::kind::append: g.log[op.seq] = op.value; break;
        case storage::write_op::kind::truncate: g.log.erase(g.log.begin(), g.log.upper_bound(op.seq)); break;
        case storage::write_op::kind::erase: current.erase(op.key); break;
      }
    }
    if (durable) synced = current;
  }
};

struct world::replica_instance {
  std::uint64_t id = 0;
  storage::group_key group;
  std::unique_ptr<core::replica_core> core;
  std::deque<std::function<void()>> held;  // inputs that wait while a blocking storage request runs
  std::set<std::uint64_t> refused_from;    // replicas refused before they were peers (as the shell)
  struct client_write {
    std::uint64_t number = 0;  // the world's count of writes
    oracle::write w;
  };
  std::map<core::request_id, client_write> writes;
  core::request_id next_request = 0;
};

struct world::process {
  std::uint64_t generation = 0;
  std::string key;
  std::unique_ptr<mcore::membership_core> membership;
  std::deque<std::function<void()>> held;       // membership inputs while it loads its tombstones
  std::map<std::string, std::uint64_t> hosted;  // group -> replica id
  std::map<std::uint64_t, std::unique_ptr<replica_instance>> replicas;
  std::set<std::string> monitoring;
  std::uint64_t next_request = 0;
};

struct world::node {
  std::string name;
  disk store;
  std::optional<process> proc;
  std::uint64_t generations = 0;
  std::vector<std::pair<timestamp, disk::groups>> backups;  // hot copies of the store
};

world::world(std::uint64_t seed, run_size size, bool trace)
    : seed_(seed), size_(size), trace_(trace), rng_(seed), rates_(fault_rates::draw(rng_)) {
  for (int n = 0; n < size_.nodes; ++n) {
    auto nd = std::make_unique<node>();
    nd->name = "n" + std::to_string(n);
    nd->store.durable = rates_.durable_everywhere || rng_.chance(0.5);
    nodes_.push_back(std::move(nd));
  }
}

world::~world() = default;

// -- the event loop ----------------------------------------------------------------------------------

void world::at(timestamp when, std::function<void()> what) {
  events_.push({std::max(when, now_), ++next_event_, std::move(what)});
}

void world::run_until(timestamp end) {
  while (!events_.empty() && events_.top().when <= end && first_violation_.empty()) {
    auto e = events_.top();
    events_.pop();
    now_ = e.when;
    e.what();
  }
  now_ = std::max(now_, end);
}

void world::trace(const std::string& what) {
  if (trace_) std::cout << now_.count() << " ms  " << what << "\n";
}

// -- nodes ---------------------------------------------------------------------------------------------

world::process* world::live(int n, std::uint64_t generation) {
  auto& p = nodes_[static_cast<std::size_t>(n)]->proc;
  return p && p->generation == generation ? &*p : nullptr;
}

int world::node_of_key(const std::string& key) const {
  for (std::size_t n = 0; n < nodes_.size(); ++n)
    if (nodes_[n]->proc && nodes_[n]->proc->key == key) return static_cast<int>(n);
  return -1;
}

world::replica_instance* world::replica_by_id(std::uint64_t id) {
  for (auto& nd : nodes_)
    if (nd->proc)
      if (auto it = nd->proc->replicas.find(id); it != nd->proc->replicas.end()) return it->second.get();
  return nullptr;
}

void world::start_node(int n) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  auto& p = nd.proc.emplace();
  p.generation = ++nd.generations;
  p.key = nd.name + "#" + std::to_string(p.generation);
  mcore::core_options o;
  o.self = p.key;
  o.name = nd.name;
  o.hosts_every_group = true;
  o.tombstone_lifetime = std::chrono::hours(1);
  o.has_storage = true;
  o.random = [this](std::size_t k) { return rng_.bytes(k); };
  p.membership = std::make_unique<mcore::membership_core>(std::move(o));
  if (!only_first_listens_ || n == 0) p.membership->advertise(nd.name, port);
  feed_membership(n, [this](process& q, auto& out) { q.membership->start(now_, out); });
  if (!nd.store.durable) flush_periodically(n, p.generation);
  trace("start " + p.key + (nd.store.durable ? " (durable store)" : ""));
  // grove-node restores every group of its store, then connects to its seeds (every other node, or
  // node 0 only when only it listens).
  std::vector<std::string> stored;
  for (const auto& [key, g] : nd.store.current)
    if (!key.is_internal()) stored.push_back(key.to_string());
  for (const auto& g : stored) host(n, g);
  for (int m = 0; m < size_.nodes; ++m)
    if (m != n && (!only_first_listens_ || m == 0)) {
      auto id = ++p.next_request;
      feed_membership(n, [this, id, host = nodes_[static_cast<std::size_t>(m)]->name](process& q, auto& out) {
        (void)q.membership->connect(id, host, port, now_, out);
      });
    }
}

// A store that is not durable syncs every auto_save while its process runs.
void world::flush_periodically(int n, std::uint64_t generation) {
  after(auto_save, [this, n, generation] {
    if (!live(n, generation)) return;
    auto& store = nodes_[static_cast<std::size_t>(n)]->store;
    store.synced = store.current;
    flush_periodically(n, generation);
  });
}

// What the oracle expects nodes to know of drops, independently of how they keep it: a node knows a
// drop from the moment its membership took it in; a clean stop keeps that (the store is synced), a
// crash of a store that is not durable loses what came within the last auto_save (plus the commit's
// latency), and a restore loses what came after the copy was taken. A drop that every node lost
// that way is forgotten, and may come back; any other return of a dropped group is a bug.
void world::note_drops_known(int n) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return;
  for (const auto& g : oracle_.dropped_groups())
    if (!drop_known_.count({n, g}) && nd.proc->membership->dropped(g, now_)) drop_known_[{n, g}] = now_;
}

void world::forget_drops_since(int n, timestamp since) {
  for (auto it = drop_known_.begin(); it != drop_known_.end();)
    it = it->first.first == n && it->second > since ? drop_known_.erase(it) : std::next(it);
  for (const auto& g : oracle_.dropped_groups()) {
    if (oracle_.is_forgotten(g)) continue;
    bool known = false;
    for (int m = 0; m < size_.nodes && !known; ++m) known = drop_known_.count({m, g}) > 0;
    if (!known) {
      trace("every node lost the drop of " + g);
      oracle_.forgotten(g);
    }
  }
}

// kill -9: the process goes with everything in memory and every unsynced write; connections to it
// drop at once (the peers' kernels answer with a reset).
void world::crash_node(int n) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return;
  auto key = nd.proc->key;
  trace("crash " + key);
  ++counts_.crashes;
  nd.proc.reset();
  nd.store.current = nd.store.synced;
  for (int m = 0; m < size_.nodes; ++m) connection_lost(m, n);
  if (!nd.store.durable) forget_drops_since(n, now_ - auto_save - commit_slack);
}

// SIGTERM: every replica saves its final snapshot (and clean-stop marker), the store syncs, then the
// process goes.
void world::stop_node_cleanly(int n) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return;
  trace("stop " + nd.proc->key);
  ++counts_.restarts;
  for (auto& [id, r] : nd.proc->replicas) {
    core::effects out;
    r->core->stop(out);
    for (auto& req : out.storage)
      if (req.what == core::storage_request::kind::write) nd.store.apply(req.ops);
  }
  nd.store.synced = nd.store.current;
  nd.proc.reset();
  for (int m = 0; m < size_.nodes; ++m) connection_lost(m, n);
}

// -- a node's replicas ----------------------------------------------------------------------------------

// grove-node's hosting policy: a node hosts every group it stores, hears of, or is asked to write.
world::replica_instance* world::host(int n, const std::string& group_text) {
  auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
  if (auto it = p.hosted.find(group_text); it != p.hosted.end()) return p.replicas.at(it->second).get();
  auto group = storage::group_key::parse(group_text);
  if (!group) return nullptr;
  auto r = std::make_unique<replica_instance>();
  r->id = ++next_actor_;
  r->group = *group;
  core::core_options o;
  o.replica_id = nodes_[static_cast<std::size_t>(n)]->name;
  o.group = *group;
  o.sync_interval = sync_interval;
  o.snapshot_interval = snapshot_interval;
  o.digest_interval = digest_interval;
  o.has_storage = true;
  o.durability =
    nodes_[static_cast<std::size_t>(n)]->store.durable ? actors::durability_mode::log : actors::durability_mode::none;
  o.max_log_bytes = 4096;
  o.max_message_bytes = max_message_bytes;
  o.transfer_timeout = 2 * digest_interval;
  o.prune_interval = digest_interval;
  actors::slot_factory make =
    is_counter(*group) ? actors::slot_factory([](const std::string& owner) -> std::unique_ptr<actors::crdt_slot> {
      return std::make_unique<counter_slot>(owner);
    })
                       : actors::slot_factory([](const std::string& owner) -> std::unique_ptr<actors::crdt_slot> {
                           return std::make_unique<set_slot>(owner);
                         });
  r->core = std::make_unique<core::replica_core>(o, o.replica_id + "@" + rng_.hex(), std::move(make));
  auto id = r->id;
  auto* raw = r.get();
  p.replicas.emplace(id, std::move(r));
  p.hosted[group_text] = id;
  trace("host " + group_text + " on " + p.key + " as replica " + std::to_string(id));
  feed_replica(n, id, [this](replica_instance& x, auto& out) { x.core->start(now_, out); });
  return raw;
}

void world::remove_replica(int n, std::uint64_t id) {
  auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
  auto it = p.replicas.find(id);
  if (it == p.replicas.end()) return;
  auto group = it->second->core->group_text();
  trace("replica " + std::to_string(id) + " of " + group + " on " + p.key + " stops");
  if (auto h = p.hosted.find(group); h != p.hosted.end() && h->second == id) p.hosted.erase(h);
  p.replicas.erase(it);
  feed_membership(n, [id](process& q, auto& out) { q.membership->member_died({q.key, id}, out); });
}

// Feeds one input to a replica, or holds it while the replica waits for a blocking storage request.
void world::feed_replica(int n, std::uint64_t id,
                         std::function<void(replica_instance&, actors::replica::effects&)> input) {
  auto* p = nodes_[static_cast<std::size_t>(n)]->proc ? &*nodes_[static_cast<std::size_t>(n)]->proc : nullptr;
  if (!p) return;
  auto it = p->replicas.find(id);
  if (it == p->replicas.end()) return;
  auto& r = *it->second;
  if (r.core->blocked()) {
    r.held.push_back([this, n, id, input] { feed_replica(n, id, input); });
    return;
  }
  core::effects out;
  input(r, out);
  carry_out(n, r, out);
}

void world::carry_out(int n, replica_instance& r, actors::replica::effects& out) {
  auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
  auto id = r.id;
  auto generation = p.generation;
  for (auto& line : out.log_lines) trace(line);
  for (auto& s : out.sends) send_to_replica(n, id, s.to, std::move(s.message));
  for (auto& r : out.relays) {
    std::vector<mcore::node_key> to;
    for (auto peer : r.to)
      if (auto k = node_hosting(peer); k >= 0) to.push_back(nodes_[static_cast<std::size_t>(k)]->proc->key);
    feed_membership(n, [id, d = std::move(r.digest), to = std::move(to)](process& q, auto& mout) {
      q.membership->relay_digest({q.key, id}, d, to, mout);
    });
  }
  for (auto& t : out.timers) {
    auto kind = t.kind;
    auto timer = t.id;
    after(t.delay, [this, n, id, generation, kind, timer] {
      if (live(n, generation))
        feed_replica(n, id,
                     [this, kind, timer](replica_instance& x, auto& o) { x.core->on_timer(kind, timer, now_, o); });
    });
  }
  for (auto& reply : out.replies) {
    auto w = r.writes.find(reply.id);
    if (w == r.writes.end()) continue;
    if (reply.outcome) acknowledge(w->second.number, w->second.w);
    r.writes.erase(w);
  }
  bool join = out.join, stop = out.stop;
  auto storage = std::move(out.storage);
  for (auto& req : storage) storage_request(n, id, std::move(req));
  if (join) {
    auto group = r.core->group_text();
    auto replica_id = nodes_[static_cast<std::size_t>(n)]->name;
    feed_membership(n, [this, n, id, generation, group, replica_id](process& q, auto& mout) {
      auto peers = q.membership->join(group, {q.key, id}, replica_id, now_, mout);
      if (!peers) return;
      for (const auto& peer : *peers) {
        bool remote = peer.node != q.key;
        auto peer_id = peer.actor;
        after(timestamp(0), [this, n, id, generation, peer_id, remote] {
          if (live(n, generation))
            feed_replica(n, id, [this, peer_id, remote](replica_instance& x, auto& o) {
              x.core->peer_up(peer_id, remote, x.refused_from.erase(peer_id) > 0, now_, o);
            });
        });
      }
    });
  }
  if (stop)
    after(timestamp(0), [this, n, id, generation] {
      if (live(n, generation)) remove_replica(n, id);
    });
}

// The node's storage actor: requests in order, each after the disk's latency; a write commits
// (and syncs on a durable store) when it completes; a crash before that loses it.
void world::storage_request(int n, std::uint64_t replica, actors::replica::storage_request req) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  auto generation = nd.proc->generation;
  auto latency =
    storage_latency + (nd.store.durable && req.what != core::storage_request::kind::load ? sync_latency : timestamp(0));
  nd.store.busy_until = std::max(nd.store.busy_until, now_) + latency;
  at(nd.store.busy_until, [this, n, replica, generation, req = std::move(req)]() mutable {
    auto* p = live(n, generation);
    if (!p) return;
    auto& store = nodes_[static_cast<std::size_t>(n)]->store;
    core::storage_result result;
    switch (req.what) {
      case core::storage_request::kind::load:
        if (auto it = store.current.find(req.key); it != store.current.end()) {
          result.found = it->second.snapshot.has_value();
          if (result.found) result.value = *it->second.snapshot;
          for (const auto& [seq, delta] : it->second.log) result.log.push_back({seq, delta});
        }
        break;
      case core::storage_request::kind::write: store.apply(req.ops); break;
      case core::storage_request::kind::flush: store.synced = store.current; break;
    }
    if (!req.expects_answer) return;
    auto it = p->replicas.find(replica);
    if (it == p->replicas.end()) return;
    auto& r = *it->second;
    core::effects out;
    r.core->on_storage_done(req.id, std::move(result), now_, out);
    bool stopping = out.stop;
    carry_out(n, r, out);
    while (!stopping && !r.core->blocked() && !r.held.empty()) {  // what waited runs now, in order
      auto next = std::move(r.held.front());
      r.held.pop_front();
      next();
      if (!live(n, generation) || !p->replicas.count(replica)) return;
    }
  });
}

// -- membership -----------------------------------------------------------------------------------------

void world::feed_membership(int n, std::function<void(process&, actors::membership::effects&)> input) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return;
  if (nd.proc->membership->blocked()) {
    nd.proc->held.push_back([this, n, input] { feed_membership(n, input); });
    return;
  }
  mcore::effects out;
  input(*nd.proc, out);
  carry_out(n, out);
  note_drops_known(n);
}

void world::carry_out(int n, actors::membership::effects& out) {
  auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
  auto generation = p.generation;
  for (auto& line : out.log_lines) trace(line);
  for (auto& [to, m] : out.to_nodes) send_to_node(n, to, std::move(m));
  for (auto& [member, notice] : out.to_members) {
    auto id = member.actor;
    std::visit(
      [&](auto& x) {
        using type = std::decay_t<decltype(x)>;
        auto remote = [&](const mcore::member_ref& m) { return m.node != p.key; };
        if constexpr (std::is_same_v<type, mcore::peer_up>) {
          auto peer = x.peer.actor;
          bool r = remote(x.peer);
          after(timestamp(0), [this, n, id, generation, peer, r] {
            if (live(n, generation))
              feed_replica(n, id, [this, peer, r](replica_instance& i, auto& o) {
                i.core->peer_up(peer, r, i.refused_from.erase(peer) > 0, now_, o);
              });
          });
        } else if constexpr (std::is_same_v<type, mcore::group_replicas>) {
          after(timestamp(0), [this, n, id, generation, ids = x.replica_ids] {
            if (live(n, generation))
              feed_replica(n, id, [ids](replica_instance& i, auto& o) { i.core->replicas_known(ids, o); });
          });
        } else if constexpr (std::is_same_v<type, mcore::peer_down>) {
          auto peer = x.peer.actor;
          after(timestamp(0), [this, n, id, generation, peer] {
            if (live(n, generation))
              feed_replica(n, id, [this, peer](replica_instance& i, auto& o) { i.core->peer_down(peer, now_, o); });
          });
        } else {
          after(timestamp(0), [this, n, id, generation] {
            if (live(n, generation)) feed_replica(n, id, [](replica_instance& i, auto& o) { i.core->drop(o); });
          });
        }
      },
      notice);
  }
  for (auto& d : out.digests) {
    auto from = d.from.actor, to = d.to.actor;
    auto digest = std::move(d.digest);
    after(timestamp(0), [this, n, from, to, generation, digest]() mutable {
      if (!live(n, generation)) return;
      feed_replica(n, to, [this, from, digest](replica_instance& i, auto& o) mutable {
        if (i.core->is_peer(from))
          i.core->receive(from, digest, now_, o);
        else
          i.core->refuse();
      });
    });
  }
  for (auto& e : out.events) on_event(n, e);
  for (auto& t : out.timers)
    after(t.delay, [this, n, generation, t] {
      if (live(n, generation))
        feed_membership(n, [this, t](process& q, auto& o) { q.membership->on_timer(t, now_, o); });
    });
  for (auto& d : out.dials) dial(n, d);
  for (auto& m : out.monitors) p.monitoring.insert(m);
  for (auto& req : out.storage) membership_storage(n, std::move(req));
}

// Membership's requests go to the same storage actor as the replicas'.
void world::membership_storage(int n, actors::membership::storage_request req) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  auto generation = nd.proc->generation;
  nd.store.busy_until =
    std::max(nd.store.busy_until, now_) + storage_latency + (nd.store.durable ? sync_latency : timestamp(0));
  at(nd.store.busy_until, [this, n, generation, req = std::move(req)] {
    auto* p = live(n, generation);
    if (!p) return;
    auto& store = nodes_[static_cast<std::size_t>(n)]->store;
    std::optional<bytes> value;
    if (!req.ops.empty())
      store.apply(req.ops);
    else if (auto it = store.current.find(req.key); it != store.current.end() && it->second.snapshot)
      value = it->second.snapshot;
    mcore::effects out;
    p->membership->on_storage_done(req.id, {}, value, now_, out);
    carry_out(n, out);
    while (!p->membership->blocked() && !p->held.empty()) {
      auto next = std::move(p->held.front());
      p->held.pop_front();
      next();
      if (!live(n, generation)) return;
    }
  });
}

// A dial reaches the node listening on name:port when it runs and the link is whole; a crashed
// node refuses at once, a cut link times out.
void world::dial(int n, const actors::membership::dial_request& d) {
  auto generation = nodes_[static_cast<std::size_t>(n)]->proc->generation;
  int target = -1;
  for (int m = 0; m < size_.nodes; ++m)
    if (d.host == nodes_[static_cast<std::size_t>(m)]->name) target = m;
  auto fail = [this, n, generation, key = d.key](timestamp delay, std::string why) {
    after(delay, [this, n, generation, key, why] {
      if (live(n, generation))
        feed_membership(n, [key, why](process& q, auto& o) {
          q.membership->on_dial_failed(key, error(errc::unavailable, "cannot reach " + key + ": " + why), o);
        });
    });
  };
  if (target < 0 || !nodes_[static_cast<std::size_t>(target)]->proc) return fail(timestamp(1), "connection refused");
  if (!linked(n, target)) return fail(actors::connection_timeout, "no answer");
  auto target_key = nodes_[static_cast<std::size_t>(target)]->proc->key;
  after(network_delay * 2, [this, n, generation, key = d.key, target_key] {
    if (live(n, generation) && node_of_key(target_key) >= 0)
      feed_membership(
        n, [this, key, target_key](process& q, auto& o) { q.membership->on_dialed(key, target_key, now_, o); });
  });
}

void world::on_event(int n, const actors::membership::node_event& e) {
  trace(nodes_[static_cast<std::size_t>(n)]->proc->key + " event " + e.event + " " + e.subject);
  if (e.event == "down") seen_down_[e.subject.substr(0, e.subject.find_first_of(":#"))].insert(n);  // address or key
  if (e.event == "group")
    after(timestamp(0),
          [this, n, generation = nodes_[static_cast<std::size_t>(n)]->proc->generation, group = e.subject] {
            if (live(n, generation)) host(n, group);
          });
}

// -- the network ------------------------------------------------------------------------------------------

bool world::linked(int a, int b) const { return a == b || cuts_.count({std::min(a, b), std::max(a, b)}) == 0; }

void world::send_to_node(int from, const std::string& to_key, actors::membership::node_message m) {
  int to = node_of_key(to_key);
  if (to < 0 || !linked(from, to)) return;
  for (auto& l : node_losses_)
    if (l.count > 0 && l.from == from && l.to == to && l.which(m)) {
      --l.count;
      trace("lost a node message from n" + std::to_string(from) + " to n" + std::to_string(to));
      if (l.closes_connection) after(timestamp(0), [this, from, to] { connection_lost(from, to); });
      return;
    }
  ++node_messages_;
  auto from_key = nodes_[static_cast<std::size_t>(from)]->proc->key;
  auto generation = nodes_[static_cast<std::size_t>(to)]->proc->generation;
  after(network_delay, [this, from, to, from_key, generation, m = std::move(m)]() mutable {
    if (!live(to, generation) || !linked(from, to) || node_of_key(from_key) != from) return;
    feed_membership(to, [this, from_key, m](process& q, auto& o) mutable {
      std::visit([&](auto& x) { q.membership->receive(from_key, x, now_, o); }, m);
    });
  });
}

int world::node_hosting(std::uint64_t replica) const {
  for (int k = 0; k < size_.nodes; ++k)
    if (nodes_[static_cast<std::size_t>(k)]->proc && nodes_[static_cast<std::size_t>(k)]->proc->replicas.count(replica))
      return k;
  return -1;
}

void world::send_to_replica(int from_node, std::uint64_t from, std::uint64_t to, actors::replica::peer_message m) {
  int to_node = node_hosting(to);
  if (to_node < 0 || !linked(from_node, to_node)) return;
  bool remote = to_node != from_node;
  if (remote) {
    ++replica_messages_;
    if (std::holds_alternative<actors::state_chunk>(m)) ++state_chunks_;
  }
  for (auto& l : losses_)
    if (l.count > 0 && l.from == from_node && l.to == to_node && l.which(m)) {
      --l.count;
      ++counts_.lost;
      trace("lost a message from n" + std::to_string(from_node) + " to n" + std::to_string(to_node));
      return;
    }
  if (remote && rng_.chance(rates_.loss)) {
    ++counts_.lost;
    return;
  }
  int copies = remote && rng_.chance(rates_.duplication) ? 2 : 1;
  counts_.duplicated += static_cast<std::uint64_t>(copies - 1);
  auto generation = nodes_[static_cast<std::size_t>(to_node)]->proc->generation;
  auto from_generation = nodes_[static_cast<std::size_t>(from_node)]->proc->generation;
  for (int c = 0; c < copies; ++c) {
    auto delay = network_delay;
    if (remote && rates_.jitter.count() > 0) {
      delay += timestamp(rng_.below(static_cast<std::uint64_t>(rates_.jitter.count())));
      ++counts_.reordered;
    }
    after(delay, [this, from_node, to_node, from, to, generation, from_generation, m]() mutable {
      if (!live(to_node, generation) || !live(from_node, from_generation) || !linked(from_node, to_node)) return;
      // As the replication server does, a refused replica of another node is reported to membership.
      mcore::member_ref who{nodes_[static_cast<std::size_t>(from_node)]->proc->key, from};
      feed_replica(to_node, to, [this, to_node, from, who, m](replica_instance& r, auto& o) mutable {
        if (r.core->is_peer(from)) return std::visit([&](auto& x) { r.core->receive(from, x, now_, o); }, m);
        r.core->refuse();
        r.refused_from.insert(from);
        if (who.node == nodes_[static_cast<std::size_t>(to_node)]->proc->key) return;
        auto group = std::visit([](const auto& x) { return x.group; }, m);
        feed_membership(to_node, [group, who](process& q, auto& mout) { q.membership->stranger(group, who, mout); });
      });
    });
  }
}

// A cut loses every message between the two nodes without closing their connection, as a network
// that drops packets does: failure detection (liveness.hpp) must notice it. Only a cut that
// outlasts CAF's heartbeat backstop closes the connection.
void world::cut(int a, int b, timestamp duration) {
  auto link = std::make_pair(std::min(a, b), std::max(a, b));
  if (!cuts_.insert(link).second) return;
  ++counts_.partitions;
  trace("cut n" + std::to_string(a) + " - n" + std::to_string(b) + " for " + std::to_string(duration.count()) + " ms");
  after(actors::transport_silence_timeout, [this, a, b, link] {
    if (cuts_.count(link)) connection_lost(a, b);
  });
  after(duration, [this, a, b, link] {
    cuts_.erase(link);
    trace("heal n" + std::to_string(a) + " - n" + std::to_string(b));
  });
}

// Node `a` notices that node `b`'s process is gone or unreachable (if it watches it).
void world::connection_lost(int a, int b) {
  if (a == b) return;
  auto& na = *nodes_[static_cast<std::size_t>(a)];
  if (!na.proc) return;
  auto key_b =
    nodes_[static_cast<std::size_t>(b)]->proc ? nodes_[static_cast<std::size_t>(b)]->proc->key : std::string();
  std::vector<std::string> gone;
  for (const auto& k : na.proc->monitoring)
    if (k.rfind(nodes_[static_cast<std::size_t>(b)]->name + "#", 0) == 0) gone.push_back(k);
  for (const auto& k : gone) {
    na.proc->monitoring.erase(k);
    feed_membership(a, [k](process& q, auto& o) { q.membership->on_node_down(k, o); });
  }
  if (nodes_[static_cast<std::size_t>(b)]->proc && a != b) {
    auto& nb = *nodes_[static_cast<std::size_t>(b)];
    auto key_a = na.proc->key;
    if (nb.proc->monitoring.erase(key_a))
      feed_membership(b, [key_a](process& q, auto& o) { q.membership->on_node_down(key_a, o); });
  }
  (void)key_b;
}

// -- clients and faults ---------------------------------------------------------------------------------

// A client's write at node `n`: an increment (counters) or an add of `element` (sets), at `level`.
// Its number, or 0 when refused before it started (a dropped group).
std::uint64_t world::write(int n, const storage::group_key& group, std::uint64_t increment, const std::string& element,
                           actors::consistency level) {
  auto text = group.to_string();
  auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
  if (p.hosted.count(text) == 0 && p.membership->dropped(text, now_)) return 0;  // refused: dropped
  auto* r = host(n, text);
  if (!r) return 0;
  actors::write_request w;
  w.level = level;
  replica_instance::client_write cw;
  cw.number = ++next_write_;
  cw.w.group = text;
  cw.w.node = n;
  cw.w.durable = nodes_[static_cast<std::size_t>(n)]->store.durable;
  if (is_counter(group)) {
    cw.w.increment = increment;
    w.ops.push_back({"increment", {std::to_string(increment)}});
    oracle_.attempted(text, increment);
  } else {
    cw.w.element = element;
    w.ops.push_back({"add", {element}});
  }
  ++counts_.writes;
  feed_replica(n, r->id, [this, cw, w, text](replica_instance& x, auto& out) mutable {
    auto request = ++x.next_request;
    auto result = x.core->write(w, request, now_, out);
    if (!result) return;
    if (!cw.w.element.empty()) {  // the dot the add took: never one that named something else
      const auto& set = dynamic_cast<const set_slot&>(x.core->slot()).value();
      if (const auto* dots = set.kernel().entries().find(cw.w.element))
        for (const auto& d : *dots)
          if (auto v = oracle_.issued(text, d.actor.str(), d.counter, cw.w.element); v && first_violation_.empty())
            first_violation_ = *v;
    }
    if (*result)
      acknowledge(cw.number, cw.w);
    else
      x.writes.emplace(request, cw);
  });
  return cw.number;
}

void world::acknowledge(std::uint64_t number, oracle::write w) {
  w.acknowledged = now_;
  oracle_.acknowledged(w);
  acknowledged_.insert(number);
  ++counts_.acknowledged;
}

void world::client_write(int n) {
  auto group = storage::group_key{size_.groups > 0 && rng_.below(2) == 0 ? "counter" : "set",
                                  "g" + std::to_string(rng_.below(static_cast<std::uint64_t>(size_.groups)))};
  static const actors::consistency_level levels[] = {actors::consistency_level::local, actors::consistency_level::local,
                                                     actors::consistency_level::majority,
                                                     actors::consistency_level::all};
  actors::consistency level{levels[rng_.below(4)], static_cast<std::uint32_t>(write_timeout.count())};
  auto increment = is_counter(group) ? rng_.between(1, 3) : 0;
  write(n, group, increment, "e" + std::to_string(++next_element_), level);
}

void world::take_backup(int n) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  trace("backup of " + nd.name);
  nd.backups.emplace_back(now_, nd.store.current);
}

// The operator's restore: the node goes down, its store is replaced by an older copy, it restarts
// (the caller decides when).
void world::restore_node(int n, std::size_t backup) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  auto [taken, copy] = nd.backups.at(backup);
  crash_node(n);
  trace("restore " + nd.name + " from the copy of " + std::to_string(taken.count()) + " ms");
  ++counts_.restores;
  nd.store.current = copy;
  nd.store.synced = copy;
  oracle_.restored(n, taken, now_);
  forget_drops_since(n, taken - commit_slack);
}

void world::drop_group(int n, const std::string& group) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return;
  trace("drop " + group + " at " + nd.proc->key);
  ++counts_.drops;
  feed_membership(n, [this, group](process& q, auto& out) {
    if (q.membership->drop(group, now_, out)) oracle_.dropped(group);
  });
}

void world::fault() {
  auto n = static_cast<int>(rng_.below(static_cast<std::uint64_t>(size_.nodes)));
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  auto restart_later = [this, n](timestamp delay) {
    after(delay, [this, n] {
      if (!nodes_[static_cast<std::size_t>(n)]->proc) start_node(n);
    });
  };
  if (rng_.chance(rates_.partition) && size_.nodes > 1) {
    auto m = static_cast<int>(rng_.below(static_cast<std::uint64_t>(size_.nodes - 1)));
    if (m >= n) ++m;
    cut(n, m, timestamp(rng_.between(3500, 10000)));
  }
  if (nd.proc && rng_.chance(rates_.crash)) {
    crash_node(n);
    restart_later(timestamp(rng_.between(100, 5000)));
  } else if (nd.proc && rng_.chance(rates_.clean_restart)) {
    stop_node_cleanly(n);
    restart_later(timestamp(rng_.between(100, 5000)));
  }
  if (rng_.chance(rates_.backup)) take_backup(n);
  if (!nd.backups.empty() && rng_.chance(rates_.restore)) {
    restore_node(n, rng_.below(nd.backups.size()));
    restart_later(timestamp(rng_.between(100, 2000)));
  }
  if (nd.proc && rng_.chance(rates_.drop))
    drop_group(n, storage::group_key{rng_.below(2) == 0 ? "counter" : "set",
                                     "g" + std::to_string(rng_.below(static_cast<std::uint64_t>(size_.groups)))}
                    .to_string());
}

void world::step() {
  std::vector<int> up;
  for (int n = 0; n < size_.nodes; ++n)
    if (nodes_[static_cast<std::size_t>(n)]->proc) up.push_back(n);
  if (!up.empty()) client_write(up[rng_.below(up.size())]);
  fault();
}

// -- scripted runs ----------------------------------------------------------------------------------------

std::unique_ptr<world> world::scripted(int nodes, bool durable, bool trace) {
  auto w = std::make_unique<world>(1, run_size{nodes, 1, 0}, trace);
  w->rates_ = fault_rates{};
  for (auto& nd : w->nodes_) nd->store.durable = durable;
  return w;
}

void world::start(int n) {
  if (!nodes_[static_cast<std::size_t>(n)]->proc) start_node(n);
}
void world::stop(int n) { stop_node_cleanly(n); }
void world::crash(int n) { crash_node(n); }
std::size_t world::backup(int n) {
  take_backup(n);
  return nodes_[static_cast<std::size_t>(n)]->backups.size() - 1;
}
void world::restore(int n, std::size_t backup) { restore_node(n, backup); }
void world::cut_link(int a, int b) { cut(a, b, timestamp(24 * 3600 * 1000)); }
void world::isolate(int n) {
  for (int m = 0; m < size_.nodes; ++m)
    if (m != n) cut_link(n, m);
}
std::size_t world::seen_down_by(int n) const {
  auto it = seen_down_.find(nodes_[static_cast<std::size_t>(n)]->name);
  return it == seen_down_.end() ? 0 : it->second.size();
}
std::size_t world::downs_seen() const {
  std::size_t all = 0;
  for (const auto& [name, by] : seen_down_) all += by.size();
  return all;
}
void world::heal_link(int a, int b) { cuts_.erase({std::min(a, b), std::max(a, b)}); }
void world::drop(int n, const std::string& group) { drop_group(n, group); }
void world::run_for(timestamp t) { run_until(now_ + t); }

void world::lose(int from, int to, std::function<bool(const actors::replica::peer_message&)> which, int count) {
  losses_.push_back({from, to, std::move(which), count});
}

void world::lose_node_messages(int from, int to, std::function<bool(const actors::membership::node_message&)> which,
                               int count) {
  node_losses_.push_back({from, to, std::move(which), count});
}

std::size_t world::nodes_known(int n) const {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  return nd.proc ? nd.proc->membership->node_count() : 0;
}

void world::close_connection_on(int from, int to, std::function<bool(const actors::membership::node_message&)> which) {
  node_losses_.push_back({from, to, std::move(which), 1, true});
}

// Writes, then runs until the write is acknowledged or `patience` passed; whether it was.
bool world::await_write(std::uint64_t number, timestamp patience) {
  if (number == 0) return false;
  auto until = now_ + patience;
  while (!acknowledged_.count(number) && now_ < until && first_violation_.empty()) run_until(now_ + timestamp(10));
  return acknowledged_.count(number) > 0;
}

bool world::add(int n, const std::string& group, const std::string& element, actors::consistency_level level) {
  auto g = storage::group_key::parse(group);
  return g && await_write(write(n, *g, 0, element, {level, 1000}), timestamp(5000));
}

bool world::increment(int n, const std::string& group, std::uint64_t by, actors::consistency_level level) {
  auto g = storage::group_key::parse(group);
  return g && await_write(write(n, *g, by, {}, {level, 1000}), timestamp(5000));
}

std::optional<std::string> world::settle() {
  cuts_.clear();
  for (int n = 0; n < size_.nodes; ++n)
    if (!nodes_[static_cast<std::size_t>(n)]->proc) start_node(n);
  run_until(now_ + heal_time);
  if (!first_violation_.empty()) return first_violation_;
  return check_end();
}

const actors::crdt_slot* world::slot_of(int n, const std::string& group) {
  auto& nd = *nodes_[static_cast<std::size_t>(n)];
  if (!nd.proc) return nullptr;
  auto it = nd.proc->hosted.find(group);
  return it == nd.proc->hosted.end() ? nullptr : &nd.proc->replicas.at(it->second)->core->slot();
}

std::uint64_t world::digests_relayed() const {
  std::uint64_t total = 0;
  for (const auto& nd : nodes_)
    if (nd->proc) total += nd->proc->membership->stats().digests_relayed;
  return total;
}

std::optional<std::uint64_t> world::counter_value(int n, const std::string& group) {
  auto* slot = dynamic_cast<const counter_slot*>(slot_of(n, group));
  if (!slot) return std::nullopt;
  return slot->value().value();
}

bool world::contains(int n, const std::string& group, const std::string& element) {
  auto* slot = dynamic_cast<const set_slot*>(slot_of(n, group));
  return slot && slot->value().contains(element);
}

// -- checks -----------------------------------------------------------------------------------------------

// After the heal: a dropped group is nowhere; every other group is hosted by every node, with equal
// states; every guaranteed write is in them.
std::optional<std::string> world::check_end() {
  auto where = [&](int n) { return nodes_[static_cast<std::size_t>(n)]->name; };
  for (const auto& g : oracle_.dropped_groups()) {
    if (oracle_.is_forgotten(g)) continue;
    ++oracle_.checked.dropped;
    auto key = storage::group_key::parse(g);
    for (int n = 0; n < size_.nodes; ++n) {
      auto& nd = *nodes_[static_cast<std::size_t>(n)];
      if (nd.proc->hosted.count(g)) return "dropped group " + g + " is back: " + where(n) + " hosts it";
      if (key && nd.store.current.count(*key)) return "dropped group " + g + " is back: " + where(n) + " stores it";
    }
  }
  std::set<std::string> groups;
  for (auto& nd : nodes_)
    for (const auto& [g, id] : nd->proc->hosted) groups.insert(g);
  std::map<std::string, const actors::crdt_slot*> final_state;
  for (const auto& g : groups) {
    ++oracle_.checked.convergence;
    std::shared_ptr<const bytes> first;
    for (int n = 0; n < size_.nodes; ++n) {
      auto& p = *nodes_[static_cast<std::size_t>(n)]->proc;
      auto it = p.hosted.find(g);
      if (it == p.hosted.end()) return "not converged: " + where(n) + " does not host " + g;
      auto& r = *p.replicas.at(it->second);
      auto state = r.core->state();
      if (!first) {
        first = state;
        final_state[g] = &r.core->slot();
      } else if (*state != *first) {
        return "not converged: " + g + " differs between " + where(0) + " and " + where(n) + " "
               + std::to_string(heal_time.count()) + " ms after the heal";
      }
    }
  }
  std::map<std::string, std::uint64_t> guaranteed_increments;
  for (const auto& w : oracle_.guaranteed()) {
    ++oracle_.checked.lost_writes;
    auto it = final_state.find(w.group);
    if (it == final_state.end()) return "acknowledged write lost: group " + w.group + " is gone";
    if (!w.element.empty() && !oracle_.was_removed(w.group, w.element)) {
      if (!dynamic_cast<const set_slot&>(*it->second).value().contains(w.element))
        return "acknowledged write lost: " + w.element + " of " + w.group + " (acknowledged by " + where(w.node)
               + " at " + std::to_string(w.acknowledged.count()) + " ms)";
    }
    guaranteed_increments[w.group] += w.increment;
  }
  for (const auto& [g, slot] : final_state) {
    auto* counter = dynamic_cast<const counter_slot*>(slot);
    if (!counter) continue;
    auto value = counter->value().value();
    if (value < guaranteed_increments[g])
      return "acknowledged write lost: " + g + " is " + std::to_string(value)
             + ", acknowledged durable increments add up to " + std::to_string(guaranteed_increments[g]);
    if (value > oracle_.attempted(g))
      return g + " is " + std::to_string(value) + ", more than the " + std::to_string(oracle_.attempted(g))
             + " ever added";
  }
  return check_metadata(final_state);
}

// Metadata stays bounded: after the heal, old incarnations are retired, so a counter names at most
// one incarnation per node and a set at most one per node plus those whose dots keep an element
// alive (at most one per element), however often nodes restarted.
std::optional<std::string> world::check_metadata(const std::map<std::string, const actors::crdt_slot*>& states) {
  for (const auto& [g, slot] : states) {
    ++oracle_.checked.metadata;
    std::size_t named = 0, bound = static_cast<std::size_t>(size_.nodes);
    if (auto* counter = dynamic_cast<const counter_slot*>(slot)) {
      named = counter->value().counts().size();
    } else if (auto* set = dynamic_cast<const set_slot*>(slot)) {
      named = set->value().kernel().context().actors().size();
      bound += set->value().value().size();
    }
    if (named > bound) {
      std::string names;
      for (const auto& o : slot->origins()) names += (names.empty() ? "" : " ") + o;
      return "metadata not pruned: " + g + " names " + std::to_string(named) + " incarnations "
             + std::to_string(heal_time.count()) + " ms after the heal (at most " + std::to_string(bound)
             + "): " + names;
    }
  }
  return std::nullopt;
}

// -- a run ------------------------------------------------------------------------------------------------

std::optional<std::string> world::run() {
  for (int n = 0; n < size_.nodes; ++n) start_node(n);
  for (int s = 0; s < size_.steps && first_violation_.empty(); ++s) {
    run_until(now_ + timestamp(rng_.between(1, 60)));
    step();
  }
  // Heal: every link whole, every node up, no more faults or writes; then let it settle.
  trace("heal");
  cuts_.clear();
  for (int n = 0; n < size_.nodes; ++n)
    if (!nodes_[static_cast<std::size_t>(n)]->proc) start_node(n);
  run_until(now_ + heal_time);
  if (!first_violation_.empty()) return first_violation_;
  return check_end();
}

}  // namespace grove::sim
