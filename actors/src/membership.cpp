// The membership actor: a shell around membership's protocol core (membership/membership_core.hpp).
// It names replicas and nodes for the core by value (member_ref, node_key) and keeps their CAF
// handles, turns CAF messages into calls of the core, and carries out the effects: node messages,
// notices to local replicas, relayed digests, watcher events, timers, dials and monitors.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "cluster_secret.hpp"
#include "grove/actors/caf_error.hpp"
#include "grove/actors/membership.hpp"
#include "grove/actors/network.hpp"
#include "grove/actors/replica.hpp"
#include "grove/actors/tls.hpp"
#include "log_limiter.hpp"
#include "membership/membership_core.hpp"
#include "transport.hpp"

namespace grove::actors {

namespace {

namespace core = grove::actors::membership;

// Internal messages: a timer of the core firing, and what a dialer found: the address answers
// (key, host, port), or it does not (key, why).
using timer_atom = caf::atom_constant<caf::atom("grv_mtimer")>;
using reachable_atom = caf::atom_constant<caf::atom("grv_reach")>;
using dial_failed_atom = caf::atom_constant<caf::atom("grv_dialno")>;
using membership_impl =
  membership_actor::extend<caf::reacts_to<timer_atom, std::uint8_t, std::string, std::string>,
                           caf::reacts_to<reachable_atom, std::string, std::string, std::uint16_t>,
                           caf::reacts_to<dial_failed_atom, std::string, caf::error>>;

struct membership_state {
  std::unique_ptr<core::membership_core> core;
  std::optional<storage_actor> storage;
  core::effects out;
  std::string self_key;
  // The handles behind the core's names.
  std::map<core::member_ref, caf::strong_actor_ptr> members;
  std::map<core::node_key, caf::actor> nodes;
  std::set<core::node_key> monitored;  // nodes watched: their current proxy (and, until its down, the one before)
  std::set<caf::actor> watchers;
  std::map<std::uint64_t, caf::typed_response_promise<done_atom>> waiting;  // connect() calls
  std::uint64_t next_request = 0;
  detail::log_limiter log;
  std::shared_ptr<node_metrics> metrics;  // optional
  std::uint64_t refused_counted = 0;      // of the core's refusals, those already in `metrics`
  std::uint64_t unreachable_counted = 0;  // the same for nodes taken as gone
};

using membership_ptr = membership_impl::stateful_pointer<membership_state>;

// The cores' clock: the wall clock (tombstones expire at a time that survives restarts).
core::timestamp now() {
  return std::chrono::duration_cast<core::timestamp>(std::chrono::system_clock::now().time_since_epoch());
}

core::node_key key_of(const caf::node_id& node) { return caf::to_string(node); }

// A replica's name for the core; the handle is kept to reach it later.
core::member_ref member_of(membership_ptr self, const caf::strong_actor_ptr& ptr) {
  core::member_ref ref{key_of(ptr->node()), ptr->id()};
  self->state.members.emplace(ref, ptr);
  return ref;
}

caf::strong_actor_ptr handle_of(membership_ptr self, const core::member_ref& ref) {
  auto it = self->state.members.find(ref);
  return it == self->state.members.end() ? nullptr : it->second;
}

// The handle of a node's membership, kept to the latest proxy: once a connection closes, CAF drops
// what is sent to the proxies it made for it, and a node this one does not watch (one whose probe
// it only answered) would otherwise be answered through a dead proxy for good. A watched node has
// its new proxy watched too; the old one's down is then ignored (the down handler).
core::node_key node_of(membership_ptr self, const caf::actor& handle) {
  auto& st = self->state;
  auto key = key_of(handle.node());
  auto [it, fresh] = st.nodes.try_emplace(key, handle);
  if (!fresh && it->second.address().get() != handle.address().get()) {
    it->second = handle;
    if (st.monitored.count(key) > 0) self->monitor(handle);
  }
  return key;
}

void carry_out(membership_ptr self);

template <class F>
void feed(membership_ptr self, F input) {
  input(*self->state.core, now(), self->state.out);
  carry_out(self);
}

// -- core messages <-> wire messages -----------------------------------------------------------------

hello_message to_wire(membership_ptr self, const core::hello& h) {
  hello_message w;
  w.answer = h.answer;
  w.name = h.name;
  w.hosts_every_group = h.hosts_every_group;
  w.address = h.address;
  for (const auto& e : h.members)
    if (auto ptr = handle_of(self, e.member)) w.members.push_back({e.group, ptr, e.replica_id});
  for (const auto& n : h.nodes)
    if (auto it = self->state.nodes.find(n); it != self->state.nodes.end()) w.nodes.push_back(it->second);
  return w;
}

core::hello from_wire(membership_ptr self, hello_message& w) {
  core::hello h;
  h.answer = w.answer;
  h.name = std::move(w.name);
  h.hosts_every_group = w.hosts_every_group;
  h.address = std::move(w.address);
  for (auto& e : w.members)
    if (e.member) h.members.push_back({std::move(e.group), member_of(self, e.member), std::move(e.replica_id)});
  for (auto& n : w.nodes)
    if (n) h.nodes.push_back(node_of(self, n));
  return h;
}

// Sends a node message of the core to `node` in its wire form.
void send_to_node(membership_ptr self, const caf::actor& node, core::node_message& m) {
  auto to = caf::actor_cast<membership_actor>(node);
  std::visit(
    [&](auto& x) {
      using type = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<type, core::hello>) {
        self->send(to, to_wire(self, x));
      } else if constexpr (std::is_same_v<type, core::member_change>) {
        if (auto ptr = handle_of(self, x.member))
          self->send(to, member_change_message{x.group, ptr, x.replica_id, x.up});
      } else if constexpr (std::is_same_v<type, core::node_unreachable>) {
        if (auto it = self->state.nodes.find(x.node); it != self->state.nodes.end())
          self->send(to, node_unreachable_message{it->second});
      } else if constexpr (std::is_same_v<type, std::vector<core::relayed_digest>>) {
        std::vector<relayed_digest> wire;
        for (auto& r : x)
          if (auto ptr = handle_of(self, r.from)) wire.push_back({ptr, std::move(r.digest)});
        self->send(to, std::move(wire));
      } else {
        self->send(to, std::move(x));
      }
    },
    m);
}

void notify_member(membership_ptr self, const caf::strong_actor_ptr& to, core::member_notice& n) {
  auto replica = caf::actor_cast<replica_actor>(to);
  std::visit(
    [&](auto& x) {
      using type = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<type, core::peer_up>) {
        if (auto peer = handle_of(self, x.peer)) self->send(replica, peer_up_atom::value, x.group, peer);
      } else if constexpr (std::is_same_v<type, core::peer_down>) {
        if (auto peer = handle_of(self, x.peer)) self->send(replica, peer_down_atom::value, x.group, peer->address());
      } else if constexpr (std::is_same_v<type, core::group_replicas>) {
        self->send(replica, replicas_atom::value, x.group, x.replica_ids);
      } else {
        static_assert(std::is_same_v<type, core::group_dropped>);
        self->send(replica, drop_atom::value, x.group);
      }
    },
    n);
}

// -- dialling -------------------------------------------------------------------------------------

// Whether host:port accepts a TCP connection within `timeout` (a black hole must not hold up the
// middleman, which connects one address at a time).
std::string tcp_reachable(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  std::string why = "no address";
  for (auto* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    bool connected = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!connected && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      int err = 0;
      socklen_t len = sizeof err;
      if (ready == 0)
        why = "no answer within " + std::to_string(timeout.count()) + " ms";
      else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        why = std::strerror(errno);
      else if (err != 0)
        why = std::strerror(err);
      else
        connected = true;
    } else if (!connected) {
      why = std::strerror(errno);
    }
    ::close(fd);
    if (connected) {
      ::freeaddrinfo(found);
      return {};
    }
  }
  ::freeaddrinfo(found);
  return why;
}

// Checks on a thread of its own that host:port answers at all (CAF's middleman connects blocking,
// so a black hole would hold it for minutes); membership then asks the middleman for the
// connection. The dialer waits for nothing of CAF's: one that waited for the middleman's answer
// could outlive the scheduler and clock that an actor system's shutdown stops before it waits for
// detached threads, and hang the shutdown (seen twice in 1,000 stress runs of consistency_test).
void dialer(caf::blocking_actor* self, caf::actor membership, std::string key, std::string host, std::uint16_t port) {
  if (auto why = tcp_reachable(host, port, connection_timeout); !why.empty())
    self->send(membership, dial_failed_atom::value, key,
               to_caf_error(error(errc::unavailable, "cannot reach " + key + ": " + why)));
  else
    self->send(membership, reachable_atom::value, key, host, port);
}

void dial_failed(membership_ptr self, const std::string& key, const error& why) {
  feed(self, [&](auto& c, auto, auto& out) { c.on_dial_failed(key, why, out); });
}

// The connection to an address a dialer found answering, through the middleman (or, with TLS, the
// OpenSSL manager), without blocking this actor; `key` is answered by on_dialed or on_dial_failed.
void connect_to(membership_ptr self, const std::string& key, const std::string& host, std::uint16_t port) {
  auto& sys = self->system();
  auto middleman = uses_tls(sys) ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  self->request(middleman, connection_timeout, caf::connect_atom::value, host, port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!ptr)
          return dial_failed(self, key, error(errc::unavailable, "cannot reach " + key + ": nothing published there"));
        auto node = node_of(self, caf::actor_cast<caf::actor>(ptr));
        feed(self, [&](auto& c, auto t, auto& out) { c.on_dialed(key, node, t, out); });
      },
      [=](caf::error& e) { dial_failed(self, key, detail::dial_failure(self->system(), key, e)); });
}

// -- storage (tombstones) ---------------------------------------------------------------------------

void storage_done(membership_ptr self, std::uint64_t id, const status& outcome, const std::optional<bytes>& value) {
  feed(self, [&](auto& c, auto t, auto& out) { c.on_storage_done(id, outcome, value, t, out); });
}

// A load is awaited (nothing else is handled until the tombstones are in); writes are not.
void ask_storage(membership_ptr self, core::storage_request& r) {
  auto id = r.id;
  auto on_error = [=](caf::error& e) { storage_done(self, id, from_caf_error(e), std::nullopt); };
  auto& storage = *self->state.storage;
  if (!r.ops.empty()) {
    self->request(storage, std::chrono::seconds(60), write_atom::value, std::move(r.ops))
      .then([=](done_atom) { storage_done(self, id, {}, std::nullopt); }, on_error);
    return;
  }
  self->request(storage, std::chrono::seconds(60), load_atom::value, r.key)
    .await(
      [=](load_result& l) {
        storage_done(self, id, {}, l.found ? std::optional<bytes>(std::move(l.value)) : std::nullopt);
      },
      on_error);
}

// -- effects -----------------------------------------------------------------------------------------

// The node's metrics after an input: nodes connected, node messages refused.
void publish_metrics(membership_ptr self) {
  auto& st = self->state;
  if (!st.metrics) return;
  st.metrics->nodes_connected.store(static_cast<std::int64_t>(st.core->node_count()), std::memory_order_relaxed);
  auto refused = st.core->stats().refused;
  add(st.metrics->membership_refused, refused - st.refused_counted);
  st.refused_counted = refused;
  auto unreachable = st.core->stats().unreachable;
  add(st.metrics->nodes_unreachable, unreachable - st.unreachable_counted);
  st.unreachable_counted = unreachable;
}

void carry_out(membership_ptr self) {
  auto& st = self->state;
  auto& out = st.out;
  for (auto& [node, m] : out.to_nodes)
    if (auto it = st.nodes.find(node); it != st.nodes.end()) send_to_node(self, it->second, m);
  for (auto& [member, n] : out.to_members)
    if (auto to = handle_of(self, member)) notify_member(self, to, n);
  for (auto& d : out.digests) {
    auto from = handle_of(self, d.from);
    auto to = handle_of(self, d.to);
    if (from && to) caf::send_as(caf::actor_cast<replica_actor>(from), caf::actor_cast<replica_actor>(to), d.digest);
  }
  for (auto& e : out.events)
    for (const auto& w : st.watchers) caf::anon_send(w, node_event_atom::value, e.event, e.subject);
  for (auto& t : out.timers)
    self->delayed_send(self, t.delay, timer_atom::value, static_cast<std::uint8_t>(t.kind), t.key, t.nonce);
  for (auto& d : out.dials)
    self->system().spawn<caf::detached>(dialer, caf::actor_cast<caf::actor>(self), d.key, d.host, d.port);
  for (auto& n : out.monitors)
    if (auto it = st.nodes.find(n); it != st.nodes.end() && st.monitored.insert(n).second) self->monitor(it->second);
  for (auto& r : out.replies) {
    auto it = st.waiting.find(r.id);
    if (it == st.waiting.end()) continue;
    if (r.outcome)
      it->second.deliver(done_atom::value);
    else
      it->second.deliver(to_caf_error(r.outcome.error()));
    st.waiting.erase(it);
  }
  for (auto& line : out.log_lines) st.log.write(line);
  auto storage = std::move(out.storage);
  out.clear();
  publish_metrics(self);
  for (auto& r : storage) ask_storage(self, r);
}

caf::error not_trusted() {
  return to_caf_error(error(errc::permission_denied, "this node has not proved the cluster secret"));
}

// Whether the current message comes from this node, or from a node the core trusts (it proved the
// secret when there is one). Local callers only use the first part of the interface.
bool from_trusted(membership_ptr self) {
  auto sender = self->current_sender();
  if (!sender) return false;
  return sender->node() == self->node() || self->state.core->trusts(key_of(sender->node()));
}

bool from_this_node(membership_ptr self) {
  auto sender = self->current_sender();
  return sender && sender->node() == self->node();
}

// The node that sent the current node message (its membership actor).
std::optional<core::node_key> sending_node(membership_ptr self) {
  auto sender = self->current_sender();
  if (!sender || sender->node() == self->node()) return std::nullopt;
  return node_of(self, caf::actor_cast<caf::actor>(sender));
}

template <class Message>
void from_node(membership_ptr self, Message& m) {
  if (auto node = sending_node(self)) feed(self, [&](auto& c, auto t, auto& out) { c.receive(*node, m, t, out); });
}

std::vector<caf::strong_actor_ptr> handles(membership_ptr self, const std::vector<core::member_ref>& refs) {
  std::vector<caf::strong_actor_ptr> out;
  for (const auto& r : refs)
    if (auto ptr = handle_of(self, r)) out.push_back(ptr);
  return out;
}

void forget_node_members(membership_ptr self, const core::node_key& node) {
  auto& ms = self->state.members;
  for (auto it = ms.begin(); it != ms.end();) it = it->first.node == node ? ms.erase(it) : std::next(it);
}

membership_impl::behavior_type membership_behavior(membership_ptr self, membership_options opts) {
  auto& st = self->state;
  st.self_key = key_of(self->node());
  core::core_options c;
  c.self = st.self_key;
  c.name = opts.name.empty() ? st.self_key : opts.name;
  c.secret = std::move(opts.secret);
  c.hosts_every_group = opts.hosts_every_group;
  c.tombstone_lifetime = opts.tombstone_lifetime;
  c.max_tombstones = opts.max_tombstones;
  c.has_storage = opts.storage.has_value();
  st.storage = std::move(opts.storage);
  st.metrics = std::move(opts.metrics);
  c.random = [](std::size_t n) { return detail::random_nonce().substr(0, n); };
  st.core = std::make_unique<core::membership_core>(std::move(c));
  // Error messages (from a misbehaving node, say) are not a reason to stop: CAF's default would.
  self->set_error_handler([](caf::error&) {});
  self->set_default_handler(caf::drop);
  feed(self, [](auto& c, auto t, auto& out) { c.start(t, out); });  // the tombstones first
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto it = st.watchers.begin(); it != st.watchers.end();)  // a watcher that is gone
      it = it->address() == msg.source ? st.watchers.erase(it) : std::next(it);
    auto key = key_of(msg.source.node());
    if (key == st.self_key) {  // a local member died
      core::member_ref ref{key, msg.source.id()};
      feed(self, [&](auto& c, auto, auto& out) { c.member_died(ref, out); });
      st.members.erase(ref);
      return;
    }
    auto it = st.nodes.find(key);
    if (it == st.nodes.end() || it->second.address().get() != msg.source.get()) return;  // gone, or an old proxy
    feed(self, [&](auto& c, auto, auto& out) { c.on_node_down(key, out); });
    st.nodes.erase(key);
    st.monitored.erase(key);
    forget_node_members(self, key);
  });
  return {
    [=](join_group_atom, const std::string& group, caf::strong_actor_ptr& who,
        const std::string& replica_id) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      if (!who) return to_caf_error(error(errc::invalid_argument, "join needs a group and a replica"));
      auto ref = member_of(self, who);
      auto& st = self->state;
      auto peers = st.core->join(group, ref, replica_id, now(), st.out);
      carry_out(self);
      if (!peers) return to_caf_error(peers.error());
      if (ref.node == st.self_key) self->monitor(who);
      return handles(self, *peers);
    },
    [=](leave_group_atom, const std::string& group, caf::strong_actor_ptr& who) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      if (who) feed(self, [&](auto& c, auto, auto& out) { c.leave(group, member_of(self, who), out); });
      return done_atom::value;
    },
    [=](members_atom, const std::string& group) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      return handles(self, self->state.core->members(group));
    },
    [=](peers_atom, const std::string& group,
        const caf::strong_actor_ptr& who) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      auto out = handles(self, self->state.core->members(group));
      out.erase(std::remove(out.begin(), out.end(), who), out.end());
      return out;
    },
    [=](replicas_atom, const std::string& group) -> caf::result<std::vector<std::string>> {
      if (!from_trusted(self)) return not_trusted();
      auto ids = self->state.core->replica_ids(group);
      return std::vector<std::string>(ids.begin(), ids.end());
    },
    [=](groups_atom) -> caf::result<std::vector<std::string>> {
      if (!from_trusted(self)) return not_trusted();
      return self->state.core->groups();
    },
    [=](nodes_atom) -> caf::result<std::uint64_t> {
      if (!from_trusted(self)) return not_trusted();
      return static_cast<std::uint64_t>(self->state.core->node_count());
    },
    [=](connect_node_atom, const std::string& host, std::uint16_t port) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      auto& st = self->state;
      auto id = ++st.next_request;
      auto connected = st.core->connect(id, host, port, now(), st.out);
      if (connected && !*connected) st.waiting.emplace(id, self->make_response_promise<done_atom>());
      carry_out(self);
      if (!connected) return to_caf_error(connected.error());
      if (*connected) return done_atom::value;
      return st.waiting.at(id);
    },
    [=](advertise_atom, const std::string& host, std::uint16_t port) {
      if (from_this_node(self)) self->state.core->advertise(host, port);
    },
    [=](addresses_atom) -> caf::result<std::vector<std::string>, std::vector<std::string>> {
      if (!from_trusted(self)) return not_trusted();
      auto [connected, unreachable] = self->state.core->address_listing();
      return caf::result<std::vector<std::string>, std::vector<std::string>>(std::move(connected),
                                                                             std::move(unreachable));
    },
    [=](watch_nodes_atom, caf::actor& who) {
      if (!from_trusted(self) || !who) return;
      if (self->state.watchers.insert(who).second) self->monitor(who);
    },
    [=](drop_group_atom, const std::string& group) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      auto& st = self->state;
      auto ok = st.core->drop(group, now(), st.out);
      carry_out(self);
      if (!ok) return to_caf_error(ok.error());
      return done_atom::value;
    },
    [=](dropped_atom, const std::string& group) -> caf::result<bool> {
      if (!from_trusted(self)) return not_trusted();
      return self->state.core->dropped(group, now());
    },
    [=](relay_digest_atom, digest_message& d, const std::vector<caf::node_id>& to) {
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node()) return;
      std::vector<core::node_key> nodes;
      for (const auto& node : to) nodes.push_back(key_of(node));
      feed(self, [&](auto& c, auto, auto& out) {
        c.relay_digest(member_of(self, sender), std::move(d), std::move(nodes), out);
      });
    },
    [=](stranger_atom, const std::string& group, const caf::strong_actor_ptr& who) {
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node() || !who) return;
      feed(self, [&](auto& c, auto, auto& out) { c.stranger(group, member_of(self, who), out); });
    },
    [=](stats_atom) -> caf::result<membership_stats> {
      if (!from_trusted(self)) return not_trusted();
      const auto& s = self->state.core->stats();
      return membership_stats{s.digests_relayed, s.digest_messages, s.digests_refused, s.refused};
    },
    [=](const version_probe& m) { from_node(self, m); },
    [=](const auth_hello& m) { from_node(self, m); },
    [=](const auth_challenge& m) { from_node(self, m); },
    [=](const auth_proof& m) { from_node(self, m); },
    [=](hello_message& m) {
      auto node = sending_node(self);
      if (!node) return;
      auto h = from_wire(self, m);
      feed(self, [&](auto& c, auto t, auto& out) { c.receive(*node, h, t, out); });
    },
    [=](member_change_message& m) {
      auto node = sending_node(self);
      if (!node || !m.member) return;
      core::member_change change{m.group, member_of(self, m.member), m.replica_id, m.up};
      feed(self, [&](auto& c, auto t, auto& out) { c.receive(*node, change, t, out); });
      if (!m.up) self->state.members.erase(change.member);
    },
    [=](const std::vector<tombstone>& m) { from_node(self, m); },
    [=](const liveness_probe& m) { from_node(self, m); },
    [=](const liveness_ack& m) { from_node(self, m); },
    [=](const node_unreachable_message& m) {
      auto node = sending_node(self);
      if (!node || !m.node) return;
      core::node_unreachable report{key_of(m.node.node())};  // a node this one does not know is ignored
      feed(self, [&](auto& c, auto t, auto& out) { c.receive(*node, report, t, out); });
    },
    [=](std::vector<relayed_digest>& m) {
      auto node = sending_node(self);
      if (!node) return;
      std::vector<core::relayed_digest> digests;
      digests.reserve(std::min(m.size(), max_digests_per_message + 1));
      for (auto& r : m) {
        if (digests.size() > max_digests_per_message) break;  // refused whole by the core
        if (r.from) digests.push_back({member_of(self, r.from), std::move(r.digest)});
      }
      feed(self, [&](auto& c, auto t, auto& out) { c.receive(*node, digests, t, out); });
    },
    [=](timer_atom, std::uint8_t kind, const std::string& key, const std::string& nonce) {
      if (self->current_sender() != self->ctrl()) return;
      core::timer_request t{static_cast<core::timer_kind>(kind), {}, key, nonce};
      feed(self, [&](auto& c, auto now, auto& out) { c.on_timer(t, now, out); });
    },
    [=](reachable_atom, const std::string& key, const std::string& host, std::uint16_t port) {
      if (from_this_node(self)) connect_to(self, key, host, port);
    },
    [=](dial_failed_atom, const std::string& key, const caf::error& why) {
      if (from_this_node(self)) dial_failed(self, key, from_caf_error(why));
    },
  };
}

}  // namespace

membership_actor spawn_membership(caf::actor_system& sys, membership_options opts) {
  return caf::actor_cast<membership_actor>(sys.spawn(membership_behavior, std::move(opts)));
}

expected<std::uint16_t> listen(caf::actor_system& sys, const membership_actor& membership, std::uint16_t port,
                               const std::string& address) {
  if (auto ok = detail::check_exposure(sys, "listen on", address); !ok) return ok.error();
  auto bound = uses_tls(sys) ? caf::openssl::publish(membership, port, address.c_str(), true)
                             : sys.middleman().publish(membership, port, address.c_str(), true);
  if (!bound)
    return error(errc::unavailable,
                 "cannot listen on " + address + ":" + std::to_string(port) + ": " + sys.render(bound.error()));
  // What others redial. Sent by a local actor: membership takes the address only from this node.
  caf::scoped_actor self{sys};
  self->send(membership, advertise_atom::value, address, *bound);
  return *bound;
}

status connect(caf::actor_system& sys, const membership_actor& membership, const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout) {
  if (auto ok = detail::check_exposure(sys, "connect to", host); !ok) return ok;
  caf::scoped_actor self{sys};
  status result;
  self->request(membership, timeout, connect_node_atom::value, host, port)
    .receive([](done_atom) {}, [&](caf::error& e) { result = from_caf_error(e); });
  return result;
}

}  // namespace grove::actors
