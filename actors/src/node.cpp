#include "grove/actors/node.hpp"

#include <sys/stat.h>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>

#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

#include "busy_aware_stealing.hpp"
#include "grove/actors/caf_error.hpp"
#include "grove/actors/shutdown.hpp"
#include "grove/actors/storage_client.hpp"
#include "grove/crdt/all.hpp"
#include "grove/crdt/escape.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "observe/metrics_endpoint.hpp"

namespace grove::actors {

void configure_node(caf::actor_system_config& cfg) {
  // Membership's ring notices a silent node (liveness.hpp); CAF's heartbeat, between every pair of
  // nodes, is only the backstop that closes such a node's connection.
  cfg.set("middleman.heartbeat-interval", caf::timespan{transport_heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{transport_silence_timeout});
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
  // And a worker that runs out of work naps before it sleeps (busy_aware_stealing.hpp): a job
  // queued behind a long one reaches an idle core within a nap instead of a second.
  cfg.load<caf::scheduler::coordinator<detail::busy_aware_stealing>>();
}

const char* to_string(node_event::kind k) noexcept {
  using kind = node_event::kind;
  switch (k) {
    case kind::warning: return "warning";
    case kind::listening: return "listening";
    case kind::connected: return "connected";
    case kind::peer_failed: return "peer_failed";
    case kind::peer_up: return "peer_up";
    case kind::peer_down: return "peer_down";
    case kind::hosting: return "hosting";
    case kind::dropped: return "dropped";
    case kind::restored: return "restored";
    case kind::progress: return "progress";
  }
  return "unknown";
}

// -- kinds ------------------------------------------------------------------------------------------

crdt_kinds crdt_kinds::standard() {
  using namespace grove::crdt;
  crdt_kinds k;
  k.add<gcounter>("counter");
  k.add<pncounter>("pncounter");
  k.add<orset<std::string>>("set");
  k.add<ormap<std::string, lww_register<std::string>>>("map");
  k.add<lww_register<std::string>>("register");
  k.add<rga<std::string>>("list");
  return k;
}

crdt_kinds& crdt_kinds::add(std::string kind, slot_factory make) {
  kinds_[std::move(kind)] = std::move(make);
  return *this;
}

const slot_factory* crdt_kinds::find(const std::string& kind) const {
  auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<std::string> crdt_kinds::names() const {
  std::vector<std::string> out;
  for (const auto& [kind, make] : kinds_) out.push_back(kind);
  return out;
}

// -- the node's state ---------------------------------------------------------------------------------

namespace detail {

struct node_state {
  node_state(caf::actor_system& s, node_options o, transport_info t, crdt_kinds k)
      : sys(s), opts(std::move(o)), transport(std::move(t)), kinds(std::move(k)) {}

  caf::actor_system& sys;
  const node_options opts;
  const transport_info transport;
  const crdt_kinds kinds;
  std::shared_ptr<node_metrics> metrics;  // null: grove.metrics is off
  std::unique_ptr<metrics_endpoint> endpoint;
  std::string metrics_address;
  std::uint16_t port = 0;
  storage_actor storage;
  membership_actor membership;
  caf::actor hub;  // fans events out to subscribers; hosts the groups other nodes host

  mutable std::mutex mutex;  // the hub and the application's threads start replicas
  std::map<std::string, replica_actor> replicas;
  bool stopped = false;

  bool hosts(const std::string& group) const {
    std::lock_guard<std::mutex> guard(mutex);
    return replicas.count(group) > 0;
  }

  // The replica of `g`, started if this node does not host it yet.
  expected<replica_actor> host(const storage::group_key& g) {
    if (auto ok = g.validate(); !ok) return ok.error();
    auto key = g.to_string();
    std::lock_guard<std::mutex> guard(mutex);
    if (auto it = replicas.find(key); it != replicas.end()) return it->second;
    if (stopped) return error(errc::unavailable, "the node is stopping");
    if (replicas.size() >= opts.max_groups)
      return error(errc::too_large, "this node already hosts " + std::to_string(opts.max_groups)
                                      + " groups (grove.max-groups; --max-groups in grove-node)");
    auto* make = kinds.find(g.kind);
    if (!make) {
      std::string known;
      for (const auto& k : kinds.names()) known += (known.empty() ? "" : ", ") + k;
      return error(errc::invalid_argument, "unknown group kind " + quote_input(g.kind) + " (" + known + ")");
    }
    replication_options o;
    o.replica_id = opts.name;
    o.group = g;
    o.sync_interval = opts.sync_interval;
    o.snapshot_interval = opts.snapshot_interval;
    o.storage = storage;
    o.membership = membership;
    // grove.durable: a mutation is answered once its delta is logged and synced (with an ETS
    // store the log is in memory: the answer waits for the table, and nothing survives a restart).
    if (opts.durable) o.durability = durability_mode::log;
    o.metrics = metrics;
    o.events = hub;
    auto r = spawn_replica(sys, std::move(o), *make);
    if (r) replicas.emplace(key, *r);
    return r;
  }

  void forget(const std::string& group) {
    std::lock_guard<std::mutex> guard(mutex);
    replicas.erase(group);
  }

  void emit(node_event e) const {
    if (hub) caf::anon_send(hub, std::move(e));
  }

  // On stderr and as an event: something an operator should know.
  void warn(const std::string& text) const {
    std::cerr << "[grove] node " << opts.name << ": warning: " << text << std::endl;
    emit({node_event::kind::warning, {}, text, 0, 0, {}});
  }

  template <class T, class... Ts>
  expected<T> ask(const caf::actor& to, std::chrono::milliseconds timeout, Ts&&... xs) const {
    caf::scoped_actor self{sys};
    expected<T> result = error(errc::unavailable, "no answer");
    self->request(to, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); }, [&](caf::error& e) { result = from_caf_error(e); });
    return result;
  }

  status stop();
};

// The hub: membership's node events become node events (and hosting, with every-group hosting);
// every node event goes to each subscriber.
caf::behavior event_hub(caf::event_based_actor* self, std::weak_ptr<node_state> node) {
  auto subscribers = std::make_shared<std::set<caf::actor>>();
  self->set_down_handler([=](caf::down_msg& msg) {
    for (auto it = subscribers->begin(); it != subscribers->end();)
      it = it->address() == msg.source ? subscribers->erase(it) : std::next(it);
  });
  auto publish = [=](const node_event& e) {
    for (const auto& s : *subscribers) caf::anon_send(s, e);
  };
  return {
    [=](add_subscriber_atom, caf::actor& who) {
      if (who && subscribers->insert(who).second) self->monitor(who);
    },
    [=](remove_subscriber_atom, caf::actor& who) { subscribers->erase(who); },
    [=](node_event& e) { publish(e); },
    [=](node_event_atom, const std::string& event, const std::string& subject) {
      auto n = node.lock();
      if (!n) return;
      if (event == "up" || event == "down")
        return publish(
          {event == "up" ? node_event::kind::peer_up : node_event::kind::peer_down, subject, {}, 0, 0, {}});
      if (event == "dropped") {
        n->forget(subject);
        return publish({node_event::kind::dropped, subject, {}, 0, 0, {}});
      }
      // "group": another node hosts a group this one does not; with every-group hosting, host it too.
      auto g = storage::group_key::parse(subject);
      if (n->opts.on_demand || !g || n->hosts(g->to_string())) return;
      if (auto r = n->host(*g); !r) return n->warn("cannot host " + g->to_string() + ": " + r.error().to_string());
      publish({node_event::kind::hosting, g->to_string(), {}, 0, 0, {}});
    },
  };
}

status node_state::stop() {
  std::vector<replica_actor> running;
  {
    std::lock_guard<std::mutex> guard(mutex);
    if (stopped) return {};
    stopped = true;
    for (auto& [g, r] : replicas) running.push_back(r);
    replicas.clear();
  }
  if (hub) {  // first: it starts replicas
    caf::scoped_actor self{sys};
    self->send_exit(hub, caf::exit_reason::user_shutdown);
    self->wait_for(hub);
    hub = nullptr;
  }
  auto some = [](const auto& handle) { return handle ? std::optional(handle) : std::nullopt; };
  auto stopped_node = stop_node(sys, running, some(storage), some(membership));
  storage = nullptr;
  membership = nullptr;
  endpoint.reset();
  return stopped_node;
}

// -- starting -----------------------------------------------------------------------------------------

expected<std::unique_ptr<storage::backend>> open_store(const node_options& o, std::shared_ptr<node_metrics> metrics) {
  if (o.store == store_kind::ets) {
    storage::ets_options ets;
    ets.table = "grove-node-" + o.name;
    return storage::open_ets(ets);
  }
  std::error_code ec;
  std::filesystem::create_directories(o.data, ec);
  if (ec) return error(errc::io_error, "cannot create " + o.data + " (grove.data): " + ec.message());
  storage::dets_options dets;
  dets.file = o.data + "/grove.store";
  dets.durable = o.durable;
  dets.auto_save = std::chrono::milliseconds(200);
  if (metrics) dets.on_commit = [metrics](std::chrono::nanoseconds d) { metrics->fsync_duration.observe(d); };
  return storage::open_dets(dets);
}

// The store file's size, for the metrics (0 for an in-memory store).
std::function<std::uint64_t()> store_size(const node_options& o) {
  if (o.store == store_kind::ets) return [] { return std::uint64_t{0}; };
  return [file = o.data + "/grove.store"] {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  };
}

status serve_metrics(node_state& n) {
  if (n.opts.metrics.empty()) return {};
  auto endpoint = metrics_endpoint::serve(n.opts.metrics, n.metrics, store_size(n.opts));
  if (!endpoint) return endpoint.error();
  n.metrics_address = (*endpoint)->address();
  n.endpoint = std::move(*endpoint);
  return {};
}

status spawn_actors(const std::shared_ptr<node_state>& n, const std::string& secret, const caf::actor& subscriber) {
  auto backend = open_store(n->opts, n->metrics);
  if (!backend) return backend.error();
  storage_actor_options store_options;
  store_options.metrics = n->metrics;
  n->storage = spawn_storage_actor(n->sys, std::move(*backend), store_options);
  membership_options m;
  m.tombstone_lifetime = n->opts.tombstone_lifetime;
  m.secret = secret;  // with certificates, the check of the secret (see tls.hpp)
  m.name = n->opts.name;
  m.hosts_every_group = !n->opts.on_demand;
  m.storage = n->storage;  // a drop survives restarts
  m.metrics = n->metrics;
  n->membership = spawn_membership(n->sys, std::move(m));
  n->hub = n->sys.spawn(event_hub, std::weak_ptr<node_state>(n));
  caf::scoped_actor self{n->sys};
  if (subscriber) self->send(n->hub, add_subscriber_atom::value, subscriber);
  self->send(n->membership, watch_nodes_atom::value, n->hub);  // not anonymous: membership checks the sender's node
  return {};
}

status listen_and_dial(node_state& n) {
  auto port = listen(n.sys, n.membership, n.opts.port, n.opts.address);
  if (!port) return port.error();
  n.port = *port;
  n.emit({node_event::kind::listening, n.opts.address + ":" + std::to_string(*port), n.metrics_address, 0, 0, {}});
  for (const auto& peer : n.opts.peers) {
    auto colon = peer.rfind(':');
    auto ok = connect(n.sys, n.membership, peer.substr(0, colon),
                      static_cast<std::uint16_t>(std::stoul(peer.substr(colon + 1))));
    if (ok)
      n.emit({node_event::kind::connected, peer, {}, 0, 0, {}});
    else
      n.emit({node_event::kind::peer_failed, peer, ok.error().to_string(), 0, 0, {}});
  }
  return {};
}

// Reports the progress of a task of `total` steps: at most every progress interval (every step
// with 0), the first once the task has taken that long, and the last when any was reported.
class progress_reporter {
public:
  progress_reporter(const node_state& n, std::string subject, std::string detail, std::uint64_t total, std::string unit)
      : n_(n), event_{node_event::kind::progress, std::move(subject), std::move(detail), 0, total, std::move(unit)} {}

  void step() {
    ++event_.done;
    auto now = std::chrono::steady_clock::now();
    bool last = event_.done == event_.total;
    if (now - last_report_ < n_.opts.progress_interval && !(last && reported_)) return;
    last_report_ = now;
    reported_ = true;
    n_.emit(event_);
  }

private:
  const node_state& n_;
  node_event event_;
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
  bool reported_ = false;
};

// Starts a replica for every stored group of a kind the node replicates and waits until each has
// loaded its state. Groups of other kinds are the application's own (saved through the storage
// actor): they are left alone.
status restore(node_state& n) {
  auto stored = n.ask<std::vector<storage::group_key>>(caf::actor_cast<caf::actor>(n.storage), std::chrono::seconds(60),
                                                       list_atom::value);
  if (!stored) return stored.error();
  std::vector<std::pair<std::string, replica_actor>> loading;
  for (const auto& g : *stored) {
    if (g.is_internal() || !n.kinds.find(g.kind)) continue;
    if (auto r = n.host(g))
      loading.emplace_back(g.to_string(), *r);
    else
      n.warn("cannot restore " + g.to_string() + ": " + r.error().to_string());
  }
  progress_reporter progress(n, "store", "loading", loading.size(), "groups");
  for (const auto& [group, r] : loading) {
    // A replica answers only once it has loaded (it takes nothing else before).
    auto loaded = n.ask<replica_stats>(caf::actor_cast<caf::actor>(r), std::chrono::minutes(5), stats_atom::value);
    if (!loaded) n.warn("restoring " + group + ": " + loaded.error().to_string());
    progress.step();
  }
  n.emit({node_event::kind::restored, {}, {}, loading.size(), loading.size(), "groups"});
  return {};
}

}  // namespace detail

// -- node -------------------------------------------------------------------------------------------

node::node(std::shared_ptr<detail::node_state> state) : state_(std::move(state)) {}
node::node(node&&) noexcept = default;
node& node::operator=(node&& other) noexcept {
  if (this != &other) {
    if (state_) (void)state_->stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
node::~node() {
  if (state_) (void)state_->stop();
}

expected<node> node::start(caf::actor_system& sys, node_setup setup) {
  auto* prepared = dynamic_cast<const node_preparation*>(&sys.config());
  if (!prepared)
    return error(errc::invalid_argument,
                 "the actor system's configuration is no grove::actors::node_config: derive "
                 "it from node_config<> so that the grove.* options are declared and the "
                 "transport secured before the actor system is built");
  if (!prepared->prepared())
    return error(errc::invalid_argument,
                 "the configuration was not prepared: parse() it, or call prepare() after "
                 "setting grove.* options in code, before building the actor system");
  auto opts = read_node_options(sys.config());
  if (!opts) return opts.error();
  if (*opts != prepared->options())
    return error(errc::invalid_argument,
                 "grove.* options changed after the configuration was prepared: call "
                 "prepare() again before building the actor system");
  auto n = std::make_shared<detail::node_state>(sys, *opts, prepared->transport(), std::move(setup.kinds));
  if (!opts->metrics.empty()) n->metrics = std::make_shared<node_metrics>();
  auto started = [&]() -> status {
    if (auto ok = detail::serve_metrics(*n); !ok) return ok;
    if (auto ok = detail::spawn_actors(n, prepared->secret_, setup.events); !ok) return ok;
    for (const auto& w : prepared->warnings()) n->warn(w);
    if (auto ok = detail::listen_and_dial(*n); !ok) return ok;
    return detail::restore(*n);
  }();
  if (!started) {
    (void)n->stop();
    return started.error();
  }
  return node(std::move(n));
}

const node_options& node::options() const { return state_->opts; }
std::uint16_t node::port() const { return state_->port; }
const std::string& node::metrics_endpoint() const { return state_->metrics_address; }
const transport_info& node::transport() const { return state_->transport; }

expected<replica_actor> node::replica(const storage::group_key& group) {
  auto& n = *state_;
  if (!n.hosts(group.to_string())) {  // a dropped group is not made again while its tombstone lives
    auto dropped = n.ask<bool>(caf::actor_cast<caf::actor>(n.membership), std::chrono::seconds(5), dropped_atom::value,
                               group.to_string());
    if (dropped && *dropped)
      return error(errc::not_found,
                   "group " + group.to_string() + " was dropped; it can be made again once its tombstone expires");
  }
  return n.host(group);
}

expected<replica_actor> node::find_replica(const storage::group_key& group) {
  auto& n = *state_;
  if (!n.hosts(group.to_string())) {
    auto members = n.ask<std::vector<caf::strong_actor_ptr>>(
      caf::actor_cast<caf::actor>(n.membership), std::chrono::seconds(5), members_atom::value, group.to_string());
    if (!members || members->empty()) return error(errc::not_found, "no node hosts " + quote_input(group.to_string()));
  }
  return replica(group);
}

std::map<std::string, replica_actor> node::replicas() const {
  std::lock_guard<std::mutex> guard(state_->mutex);
  return state_->replicas;
}

storage_actor node::storage() const { return state_->storage; }

std::unique_ptr<storage::backend> node::storage_client(std::chrono::milliseconds timeout) const {
  return make_storage_client(state_->sys, state_->storage, timeout);
}

membership_actor node::membership() const { return state_->membership; }

void node::subscribe(const caf::actor& subscriber) {
  if (state_->hub) caf::anon_send(state_->hub, add_subscriber_atom::value, subscriber);
}

void node::unsubscribe(const caf::actor& subscriber) {
  if (state_->hub) caf::anon_send(state_->hub, remove_subscriber_atom::value, subscriber);
}

status node::connect(const std::string& host, std::uint16_t port) {
  return actors::connect(state_->sys, state_->membership, host, port);
}

status node::drop(const storage::group_key& group) {
  auto& n = *state_;
  auto done = n.ask<done_atom>(caf::actor_cast<caf::actor>(n.membership), std::chrono::seconds(10),
                               drop_group_atom::value, group.to_string());
  if (!done) return done.error();
  n.forget(group.to_string());
  return {};
}

expected<std::size_t> node::snapshot() {
  auto hosted = replicas();
  for (const auto& [group, r] : hosted)
    if (auto done =
          state_->ask<done_atom>(caf::actor_cast<caf::actor>(r), std::chrono::seconds(30), snapshot_atom::value);
        !done)
      return done.error();
  return hosted.size();
}

node_stats node::stats() {
  auto& n = *state_;
  node_stats s;
  s.groups = replicas().size();
  auto membership = caf::actor_cast<caf::actor>(n.membership);
  if (auto x = n.ask<storage_stats>(caf::actor_cast<caf::actor>(n.storage), std::chrono::seconds(5), stats_atom::value))
    s.storage = *x;
  if (auto x = n.ask<membership_stats>(membership, std::chrono::seconds(5), stats_atom::value)) s.membership = *x;
  if (auto x = n.ask<std::uint64_t>(membership, std::chrono::seconds(5), nodes_atom::value)) s.nodes = *x;
  return s;
}

peer_listing node::peers() {
  auto& n = *state_;
  auto membership = caf::actor_cast<caf::actor>(n.membership);
  peer_listing p;
  if (auto x = n.ask<std::uint64_t>(membership, std::chrono::seconds(5), nodes_atom::value)) p.nodes = *x;
  for (const auto& [group, r] : replicas()) {
    auto members =
      n.ask<std::vector<caf::strong_actor_ptr>>(membership, std::chrono::seconds(5), members_atom::value, group);
    p.members[group] = members ? members->size() : 0;
  }
  caf::scoped_actor self{n.sys};
  self->request(n.membership, std::chrono::seconds(5), addresses_atom::value)
    .receive([&](std::vector<std::string>& c,
                 std::vector<std::string>& u) { p.connected = std::move(c), p.unreachable = std::move(u); },
             [](caf::error&) {});
  return p;
}

status node::stop() { return state_ ? state_->stop() : status{}; }

}  // namespace grove::actors
