#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "cluster_secret.hpp"
#include "grove/actors/caf_error.hpp"
#include "grove/actors/membership.hpp"
#include "grove/actors/node.hpp"
#include "grove/actors/replica.hpp"
#include "grove/actors/tls.hpp"
#include "log_limiter.hpp"
#include "transport.hpp"

namespace grove::actors {

namespace {

using members = std::set<caf::strong_actor_ptr>;

// Members a group may have on one node, and members a node may report for one group: a bound on
// what a misbehaving local caller or peer node can make this actor hold.
constexpr std::size_t max_members_per_group = 1024;

// Addresses a node remembers for reconnecting: a bound on what peers' announcements can add.
constexpr std::size_t max_known_addresses = 1024;

// Timers: dial a remembered address again; check that a handshake ended.
using redial_atom = caf::atom_constant<caf::atom("grv_redial")>;
using handshake_check_atom = caf::atom_constant<caf::atom("grv_hschk")>;
// Timer: send the digests collected in this round to the other nodes.
using flush_digests_atom = caf::atom_constant<caf::atom("grv_fdigs")>;
using membership_impl = membership_actor::extend<caf::reacts_to<redial_atom, std::string>,
                                                 caf::reacts_to<handshake_check_atom, caf::actor, std::string>,
                                                 caf::reacts_to<flush_digests_atom>>;

// Replicas' digest rounds fall on the same instants (see arm_digest in replication_server.cpp);
// the digests of a round wait this long for each other, then go as one message per node, with at
// most max_digests_per_message each (a round of many groups goes in several).
constexpr std::chrono::milliseconds digest_batch_window{50};
constexpr std::size_t max_digests_per_message = 1000;
// Most digests waiting at once (a bound on what local replicas can make it hold).
constexpr std::size_t max_waiting_digests = 1 << 20;

// A handshake not finished by then starts again (its messages can be lost with a connection that
// closes under it, for instance when two nodes dial each other at once and CAF keeps one link).
constexpr std::chrono::milliseconds handshake_deadline{2000};

struct node_info {
  caf::actor handle;
  std::map<std::string, members> groups;  // the node's own members
  bool greeted = false;                   // its first hello arrived (announced as up)
};

// An address this node dials whenever it is not connected there: given to connect(), or
// announced by a node in its hello.
struct known_address {
  std::string host;
  std::uint16_t port = 0;
  caf::actor_addr node;                                     // the membership actor there, while connected
  std::chrono::milliseconds delay = reconnect_first_delay;  // before the next attempt
  bool dialing = false;
  bool scheduled = false;                                       // a redial timer is pending
  std::vector<caf::typed_response_promise<done_atom>> waiting;  // connect() calls to answer
};

struct membership_state {
  std::string node;
  std::string secret;                                                       // empty: every node is trusted
  std::set<caf::node_id> trusted;                                           // nodes that proved the secret
  std::map<caf::actor_addr, std::string> outgoing;                          // handshakes we started: our nonce
  std::map<caf::actor_addr, std::pair<std::string, std::string>> incoming;  // theirs: both nonces
  std::map<std::string, members> local;                                     // group -> members on this node
  std::map<caf::actor_addr, std::set<std::string>> joined;                  // local member -> its groups
  std::map<caf::actor_addr, node_info> nodes;                               // other nodes' membership actors
  std::map<std::string, known_address> addresses;                           // by "host:port"
  std::string own_address;                                                  // "host:port" it listens on, if any
  std::set<caf::actor> watchers;                                            // get node_event_atom messages
  // Dropped groups: when each tombstone expires, and the same ordered by expiry (to purge).
  std::chrono::milliseconds tombstone_lifetime{0};
  std::size_t max_tombstones = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> tombstones;
  std::multimap<std::chrono::steady_clock::time_point, std::string> tombstone_expiry;
  // Digests of local replicas waiting to go to the other nodes.
  std::vector<relayed_digest> outgoing_digests;
  bool digest_flush_armed = false;
  membership_stats stats;
  detail::log_limiter log;
};

using membership_ptr = membership_impl::stateful_pointer<membership_state>;

caf::actor self_handle(membership_ptr self) { return caf::actor_cast<caf::actor>(self); }

std::vector<member_entry> local_entries(membership_ptr self) {
  std::vector<member_entry> out;
  for (auto& [group, ms] : self->state.local)
    for (auto& m : ms) out.push_back({group, m});
  return out;
}

std::vector<caf::actor> known_nodes(membership_ptr self) {
  std::vector<caf::actor> out;
  for (auto& [addr, node] : self->state.nodes) out.push_back(node.handle);
  return out;
}

std::vector<caf::strong_actor_ptr> all_members(membership_ptr self, const std::string& group) {
  std::vector<caf::strong_actor_ptr> out;
  if (auto it = self->state.local.find(group); it != self->state.local.end())
    out.assign(it->second.begin(), it->second.end());
  for (auto& [addr, node] : self->state.nodes)
    if (auto it = node.groups.find(group); it != node.groups.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  return out;
}

void notify_watchers(membership_ptr self, const std::string& event, const std::string& who);

// -- dropped groups -------------------------------------------------------------------------------

using tomb_clock = std::chrono::steady_clock;

void purge_tombstones(membership_ptr self) {
  auto& st = self->state;
  auto now = tomb_clock::now();
  while (!st.tombstone_expiry.empty() && st.tombstone_expiry.begin()->first <= now) {
    st.tombstones.erase(st.tombstone_expiry.begin()->second);
    st.tombstone_expiry.erase(st.tombstone_expiry.begin());
  }
}

bool is_dropped(membership_ptr self, const std::string& group) {
  purge_tombstones(self);
  return self->state.tombstones.count(group) > 0;
}

// Records a tombstone living `remaining` more (at most the configured lifetime); false if the
// group had one already.
bool add_tombstone(membership_ptr self, const std::string& group, std::chrono::milliseconds remaining) {
  auto& st = self->state;
  if (is_dropped(self, group) || remaining.count() <= 0) return false;
  if (st.tombstones.size() >= st.max_tombstones) {  // the one that expires first goes early
    st.tombstones.erase(st.tombstone_expiry.begin()->second);
    st.tombstone_expiry.erase(st.tombstone_expiry.begin());
  }
  auto expires = tomb_clock::now() + std::min(remaining, st.tombstone_lifetime);
  st.tombstones[group] = expires;
  st.tombstone_expiry.emplace(expires, group);
  return true;
}

std::vector<tombstone> tombstones_of(membership_ptr self, const std::vector<std::string>& groups) {
  auto now = tomb_clock::now();
  std::vector<tombstone> out;
  for (const auto& g : groups)
    if (auto it = self->state.tombstones.find(g); it != self->state.tombstones.end())
      out.push_back({g, static_cast<std::uint64_t>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(it->second - now).count())});
  return out;
}

std::vector<tombstone> all_tombstones(membership_ptr self) {
  purge_tombstones(self);
  std::vector<std::string> groups;
  for (const auto& [g, expires] : self->state.tombstones) groups.push_back(g);
  return tombstones_of(self, groups);
}

// Tells this node's replicas of a dropped group to erase their state and stop (they leave
// membership when they are gone), and the watchers that it is gone.
void drop_local_members(membership_ptr self, const std::string& group) {
  auto it = self->state.local.find(group);
  if (it == self->state.local.end()) return;
  for (auto& m : it->second) self->send(caf::actor_cast<replica_actor>(m), drop_atom::value, group);
  notify_watchers(self, "dropped", group);
}

// Tells a node's membership actor that `group` is dropped (it has a member that must go).
void send_tombstone(membership_ptr self, const caf::actor& node, const std::string& group) {
  self->send(caf::actor_cast<membership_actor>(node), tombstones_atom::value, tombstones_of(self, {group}));
}

// Tells the local members of `group` (except `who`) that `who` appeared; when this node has no
// member of the group, tells the watchers that another node hosts it ("group" event). A member
// of a dropped group is not announced: its node is told to drop it.
void announce_up(membership_ptr self, const std::string& group, const caf::strong_actor_ptr& who) {
  if (is_dropped(self, group)) {
    if (auto sender = self->current_sender(); sender && sender->node() != self->node())
      send_tombstone(self, caf::actor_cast<caf::actor>(sender), group);
    return;
  }
  auto it = self->state.local.find(group);
  if (it == self->state.local.end() || it->second.empty()) return notify_watchers(self, "group", group);
  for (auto& m : it->second)
    if (m != who) self->send(caf::actor_cast<replica_actor>(m), peer_up_atom::value, group, who);
}

void announce_down(membership_ptr self, const std::string& group, const caf::actor_addr& who) {
  auto it = self->state.local.find(group);
  if (it == self->state.local.end()) return;
  for (auto& m : it->second) self->send(caf::actor_cast<replica_actor>(m), peer_down_atom::value, group, who);
}

// Starts knowing `node`; false if it is this node or already known.
bool add_node(membership_ptr self, const caf::actor& node) {
  if (!node || node == self_handle(self) || self->state.nodes.count(node.address()) > 0) return false;
  self->state.nodes[node.address()] = node_info{node, {}};
  self->monitor(node);
  return true;
}

caf::error not_trusted() {
  return to_caf_error(error(errc::permission_denied, "this node has not proved the cluster secret"));
}

void log_refused(membership_ptr self, const caf::actor& node, const std::string& why) {
  self->state.log.write("[grove] membership " + self->state.node + ": node " + caf::to_string(node.node())
                        + " refused: " + why);
}

// Whether the current message may be acted on: always from this node; from another node only
// once it proved the cluster secret (when there is one).
bool from_trusted(membership_ptr self) {
  if (self->state.secret.empty()) return true;
  auto sender = self->current_sender();
  if (!sender) return false;
  return sender->node() == self->node() || self->state.trusted.count(sender->node()) > 0;
}

void say_hello(membership_ptr self, const caf::actor& node) {
  self->send(caf::actor_cast<membership_actor>(node), hello_atom::value, self_handle(self), local_entries(self),
             known_nodes(self), self->state.own_address);
}

std::string address_key(const std::string& host, std::uint16_t port) { return host + ":" + std::to_string(port); }

void notify_watchers(membership_ptr self, const std::string& event, const std::string& who) {
  for (const auto& w : self->state.watchers) caf::anon_send(w, node_event_atom::value, event, who);
}

// Dials `key` again after its current delay (doubled for the time after, up to the cap), unless
// it is connected, being dialled, or already waiting for its timer.
void schedule_dial(membership_ptr self, const std::string& key) {
  auto& a = self->state.addresses[key];
  if (a.scheduled || a.dialing || a.node) return;
  a.scheduled = true;
  self->delayed_send(self, a.delay, redial_atom::value, key);
  a.delay = std::min(a.delay * 2, reconnect_max_delay);
}

void answer_waiting(known_address& a, const caf::error& e) {
  for (auto& p : a.waiting) {
    if (e)
      p.deliver(e);
    else
      p.deliver(done_atom::value);
  }
  a.waiting.clear();
}

// Connects to a remembered address without blocking (the middleman's own connect request, TLS
// or plaintext as the node is configured), then introduces itself there (the handshake runs as
// for any new node). A failure schedules the next attempt.
void introduce(membership_ptr self, const caf::actor& node);

void dial(membership_ptr self, const std::string& key) {
  auto& a = self->state.addresses[key];
  if (a.dialing || a.node) return;
  a.dialing = true;
  auto& sys = self->system();
  auto middleman = uses_tls(sys) ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  self->request(middleman, connection_timeout, caf::connect_atom::value, a.host, a.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>& interface) {
        auto& a = self->state.addresses[key];
        a.dialing = false;
        static const auto membership_interface =
          self->system().message_types(caf::detail::type_list<membership_actor>{});
        if (!ptr || interface != membership_interface) {
          answer_waiting(a, to_caf_error(error(errc::unavailable, key + " is not a Grove node of this version")));
          return schedule_dial(self, key);
        }
        auto node = caf::actor_cast<caf::actor>(ptr);
        a.node = node.address();
        self->monitor(node);  // a drop before the handshake ends must be seen too
        answer_waiting(a, caf::error{});
        introduce(self, node);
      },
      [=](caf::error& e) {
        auto& a = self->state.addresses[key];
        a.dialing = false;
        answer_waiting(a, to_caf_error(detail::dial_failure(self->system(), key, e)));
        schedule_dial(self, key);
      });
}

// Remembers the address a connected node announced, so that it is dialled again if it drops.
void remember_address(membership_ptr self, const caf::actor& node, const std::string& announced) {
  auto& st = self->state;
  auto colon = announced.rfind(':');
  if (announced.empty() || announced == st.own_address || colon == std::string::npos) return;
  if (st.addresses.count(announced) == 0 && st.addresses.size() >= max_known_addresses) return;
  auto port = std::strtoul(announced.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return;
  auto& a = st.addresses[announced];
  a.host = announced.substr(0, colon);
  a.port = static_cast<std::uint16_t>(port);
  a.node = node.address();
  a.delay = reconnect_first_delay;
}

// The name of a node for events: the address it is known by, else its node id.
std::string name_of(membership_ptr self, const caf::actor_addr& node) {
  for (const auto& [key, a] : self->state.addresses)
    if (a.node == node) return key;
  return caf::to_string(node.node());
}

// Starts knowing `node`: at once without a secret, after the handshake with one.
void introduce(membership_ptr self, const caf::actor& node) {
  if (!node || node == self_handle(self) || self->state.nodes.count(node.address()) > 0) return;
  if (self->state.secret.empty()) {
    if (add_node(self, node)) say_hello(self, node);
    return;
  }
  if (self->state.outgoing.count(node.address()) > 0) return;  // a handshake is running
  auto nonce = detail::random_nonce();
  self->state.outgoing[node.address()] = nonce;
  self->send(caf::actor_cast<membership_actor>(node), auth_hello_atom::value, self_handle(self), nonce);
  self->delayed_send(self, handshake_deadline, handshake_check_atom::value, node, nonce);
}

// Handshakes a node keeps open at once: a bound on what unanswered hellos can make it hold.
constexpr std::size_t max_open_handshakes = 64;

// What each side's MAC covers: its role, both nodes (as the transport names them, never as a
// payload claims) and both nonces, each length-prefixed. A MAC made for one direction or one pair
// of nodes is therefore worthless in any other, so a node without the secret cannot reflect the
// initiator's own MAC back to it, nor relay one between two other nodes.
enum class role { initiator, responder };

std::string handshake_mac(const std::string& secret, role r, const caf::node_id& initiator,
                          const caf::node_id& responder, const std::string& nonce_a, const std::string& nonce_b) {
  std::string transcript = r == role::initiator ? "grove-membership-initiator" : "grove-membership-responder";
  for (const auto& field : {caf::to_string(initiator), caf::to_string(responder), nonce_a, nonce_b}) {
    auto size = static_cast<std::uint32_t>(field.size());
    for (int shift = 24; shift >= 0; shift -= 8) transcript += static_cast<char>((size >> shift) & 0xff);
    transcript += field;
  }
  return detail::hmac_sha256(secret, transcript);
}

// Whether the current message comes from `claimed` itself: handshake and hello messages name their
// sender in the payload, and only the transport's word for it counts.
bool sent_by(membership_ptr self, const caf::actor& claimed) {
  auto sender = self->current_sender();
  return sender && claimed && sender->address() == claimed.address();
}

// Records the members a node reported and introduces itself to the nodes it did not know; the
// first hello of a node announces it as up.
void learn(membership_ptr self, const caf::actor& from, std::vector<member_entry>& entries,
           std::vector<caf::actor>& nodes, const std::string& announced) {
  auto it = self->state.nodes.find(from.address());
  if (it == self->state.nodes.end()) return;
  remember_address(self, from, announced);
  if (!it->second.greeted) {
    it->second.greeted = true;
    notify_watchers(self, "up", name_of(self, from.address()));
    if (auto dropped = all_tombstones(self); !dropped.empty())
      self->send(caf::actor_cast<membership_actor>(from), tombstones_atom::value, std::move(dropped));
  }
  for (auto& e : entries) {
    if (!e.replica || e.group.empty()) continue;
    auto& ms = it->second.groups[e.group];
    if (ms.size() >= max_members_per_group) continue;
    if (ms.insert(e.replica).second) announce_up(self, e.group, e.replica);
  }
  for (auto& n : nodes) introduce(self, n);
}

node_info* node_of_sender(membership_ptr self) {
  auto sender = self->current_sender();
  if (!sender) return nullptr;
  auto it = self->state.nodes.find(sender->address());
  return it == self->state.nodes.end() ? nullptr : &it->second;
}

void remove_local(membership_ptr self, const std::string& group, const caf::actor_addr& who) {
  auto it = self->state.local.find(group);
  if (it == self->state.local.end()) return;
  for (auto m = it->second.begin(); m != it->second.end(); ++m) {
    if ((*m)->address() != who) continue;
    it->second.erase(m);
    if (it->second.empty()) self->state.local.erase(it);
    announce_down(self, group, who);
    for (auto& [addr, node] : self->state.nodes)
      self->send(caf::actor_cast<membership_actor>(node.handle), member_down_atom::value, group, who);
    return;
  }
}

// -- anti-entropy per pair of nodes ----------------------------------------------------------------

void send_digests(membership_ptr self, const caf::actor& node, std::vector<relayed_digest>& batch) {
  if (batch.empty()) return;
  self->state.stats.digests_relayed += batch.size();
  ++self->state.stats.digest_messages;
  self->send(caf::actor_cast<membership_actor>(node), digests_atom::value, std::move(batch));
  batch.clear();
}

// Sends each other node the waiting digests of the groups it hosts, in as few messages as fit.
void flush_digests(membership_ptr self) {
  auto& st = self->state;
  st.digest_flush_armed = false;
  auto waiting = std::move(st.outgoing_digests);
  st.outgoing_digests.clear();
  for (auto& [addr, node] : st.nodes) {
    std::vector<relayed_digest> batch;
    for (const auto& r : waiting) {
      auto it = node.groups.find(r.digest.group);
      if (it == node.groups.end() || it->second.empty()) continue;
      batch.push_back(r);
      if (batch.size() == max_digests_per_message) send_digests(self, node.handle, batch);
    }
    send_digests(self, node.handle, batch);
  }
}

// Digests another node relayed: each goes to the local members of its group, sent as the replica
// that made it, and only if that replica is a member there (a node cannot speak for others).
void deliver_digests(membership_ptr self, node_info& from, std::vector<relayed_digest>& digests) {
  auto& st = self->state;
  for (auto& r : digests) {
    auto members = from.groups.find(r.digest.group);
    if (!r.from || members == from.groups.end() || members->second.count(r.from) == 0) {
      ++st.stats.digests_refused;
      continue;
    }
    auto local = st.local.find(r.digest.group);
    if (local == st.local.end()) continue;
    auto sender = caf::actor_cast<replica_actor>(r.from);
    for (auto& m : local->second) caf::send_as(sender, caf::actor_cast<replica_actor>(m), digest_atom::value, r.digest);
  }
}

// `node` names this node in log lines. (Spawn it with arguments: CAF 0.17's spawn of a function
// without arguments dereferences a null argument tuple, which UBSan stops.)
membership_impl::behavior_type membership_behavior(membership_ptr self, std::string node, membership_options opts) {
  self->state.node = std::move(node);
  self->state.secret = std::move(opts.secret);
  self->state.tombstone_lifetime = opts.tombstone_lifetime;
  self->state.max_tombstones = std::max<std::size_t>(1, opts.max_tombstones);
  // Error messages (from a misbehaving node, say) are not a reason to stop: CAF's default would.
  self->set_error_handler([](caf::error&) {});
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (auto it = st.joined.find(msg.source); it != st.joined.end()) {  // a local member died
      auto groups = std::move(it->second);
      st.joined.erase(it);
      for (auto& g : groups) remove_local(self, g, msg.source);
      return;
    }
    for (auto it = st.watchers.begin(); it != st.watchers.end();)  // a watcher that is gone
      it = it->address() == msg.source ? st.watchers.erase(it) : std::next(it);
    st.outgoing.erase(msg.source);
    st.incoming.erase(msg.source);
    auto name = name_of(self, msg.source);
    for (auto& [key, a] : st.addresses) {  // a connection to a remembered address dropped
      if (a.node != msg.source) continue;
      a.node = caf::actor_addr{};
      a.delay = reconnect_first_delay;
      schedule_dial(self, key);
    }
    if (auto it = st.nodes.find(msg.source); it != st.nodes.end()) {  // a node went away
      auto node = std::move(it->second);
      st.nodes.erase(it);
      st.trusted.erase(msg.source.node());
      for (auto& [group, ms] : node.groups)
        for (auto& m : ms) announce_down(self, group, m->address());
      if (node.greeted) notify_watchers(self, "down", name);
    }
  });
  return {
    [=](join_group_atom, const std::string& group,
        caf::strong_actor_ptr& who) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      if (!who || group.empty()) return to_caf_error(error(errc::invalid_argument, "join needs a group and a replica"));
      if (is_dropped(self, group)) {
        self->send(caf::actor_cast<replica_actor>(who), drop_atom::value, group);
        notify_watchers(self, "dropped", group);
        return to_caf_error(
          error(errc::not_found, "group " + group + " was dropped; it can be made again once its tombstone expires"));
      }
      if (self->state.local[group].size() >= max_members_per_group)
        return to_caf_error(
          error(errc::too_large,
                "group " + group + " already has " + std::to_string(max_members_per_group) + " members on this node"));
      auto peers = all_members(self, group);
      if (self->state.local[group].insert(who).second) {
        if (self->state.joined[who->address()].insert(group).second && self->state.joined[who->address()].size() == 1)
          self->monitor(who);
        announce_up(self, group, who);
        for (auto& [addr, node] : self->state.nodes)
          self->send(caf::actor_cast<membership_actor>(node.handle), member_up_atom::value, group, who);
      }
      peers.erase(std::remove(peers.begin(), peers.end(), who), peers.end());
      return peers;
    },
    [=](leave_group_atom, const std::string& group, caf::strong_actor_ptr& who) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      if (who) {
        remove_local(self, group, who->address());
        auto it = self->state.joined.find(who->address());
        if (it != self->state.joined.end()) {
          it->second.erase(group);
          if (it->second.empty()) {
            self->demonitor(who->address());
            self->state.joined.erase(it);
          }
        }
      }
      return done_atom::value;
    },
    [=](members_atom, const std::string& group) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      return all_members(self, group);
    },
    [=](peers_atom, const std::string& group,
        const caf::strong_actor_ptr& who) -> caf::result<std::vector<caf::strong_actor_ptr>> {
      if (!from_trusted(self)) return not_trusted();
      auto out = all_members(self, group);
      out.erase(std::remove(out.begin(), out.end(), who), out.end());
      return out;
    },
    [=](groups_atom) -> caf::result<std::vector<std::string>> {
      if (!from_trusted(self)) return not_trusted();
      std::set<std::string> names;
      for (auto& [group, ms] : self->state.local) names.insert(group);
      for (auto& [addr, node] : self->state.nodes)
        for (auto& [group, ms] : node.groups)
          if (!ms.empty()) names.insert(group);
      return std::vector<std::string>(names.begin(), names.end());
    },
    [=](nodes_atom) -> caf::result<std::uint64_t> {
      if (!from_trusted(self)) return not_trusted();
      return static_cast<std::uint64_t>(self->state.nodes.size());
    },
    [=](connect_node_atom, const std::string& host, std::uint16_t port) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      auto& st = self->state;
      auto key = address_key(host, port);
      if (st.addresses.count(key) == 0 && st.addresses.size() >= max_known_addresses)
        return to_caf_error(
          error(errc::too_large, "this node already remembers " + std::to_string(max_known_addresses) + " addresses"));
      auto& a = st.addresses[key];
      a.host = host;
      a.port = port;
      if (a.node) return done_atom::value;
      auto promise = self->make_response_promise<done_atom>();
      a.waiting.push_back(promise);
      dial(self, key);  // answers when this attempt (or the one already running) ends
      return promise;
    },
    [=](handshake_check_atom, caf::actor& node, const std::string& nonce) {
      auto& st = self->state;
      auto it = st.outgoing.find(node.address());
      if (it == st.outgoing.end() || it->second != nonce) return;  // finished, or a newer one runs
      st.outgoing.erase(it);
      bool still_linked = false;  // only a node this one dialled, and still reaches, is asked again
      for (const auto& [key, a] : st.addresses) still_linked = still_linked || a.node == node.address();
      if (still_linked) introduce(self, node);
    },
    [=](redial_atom, const std::string& key) {
      auto it = self->state.addresses.find(key);
      if (it == self->state.addresses.end()) return;
      it->second.scheduled = false;
      dial(self, key);
    },
    [=](advertise_atom, const std::string& host, std::uint16_t port) {
      if (!from_trusted(self)) return;
      bool wildcard = host.empty() || host == "0.0.0.0" || host == "::";
      self->state.own_address = wildcard ? std::string() : address_key(host, port);
    },
    [=](addresses_atom) -> caf::result<std::vector<std::string>, std::vector<std::string>> {
      if (!from_trusted(self)) return not_trusted();
      std::vector<std::string> connected, unreachable;
      for (const auto& [key, a] : self->state.addresses) (a.node ? connected : unreachable).push_back(key);
      return caf::result<std::vector<std::string>, std::vector<std::string>>(std::move(connected),
                                                                             std::move(unreachable));
    },
    [=](watch_nodes_atom, caf::actor& who) {
      if (!from_trusted(self) || !who) return;
      if (self->state.watchers.insert(who).second) self->monitor(who);
    },
    [=](drop_group_atom, const std::string& group) -> caf::result<done_atom> {
      if (!from_trusted(self)) return not_trusted();
      if (group.empty()) return to_caf_error(error(errc::invalid_argument, "drop needs a group"));
      add_tombstone(self, group, self->state.tombstone_lifetime);
      drop_local_members(self, group);
      for (auto& [addr, node] : self->state.nodes) send_tombstone(self, node.handle, group);
      return done_atom::value;
    },
    [=](dropped_atom, const std::string& group) -> caf::result<bool> {
      if (!from_trusted(self)) return not_trusted();
      return is_dropped(self, group);
    },
    [=](tombstones_atom, std::vector<tombstone>& dropped) {
      if (!from_trusted(self) || !node_of_sender(self)) return;
      auto sender = self->current_sender();
      for (auto& t : dropped) {
        if (t.group.empty()) continue;
        // A tombstone new here goes on to the other nodes (each forwards it once, so it ends).
        if (add_tombstone(self, t.group,
                          std::chrono::milliseconds(std::min<std::uint64_t>(t.remaining_ms, 1ull << 40))))
          for (auto& [addr, node] : self->state.nodes)
            if (addr != sender->address()) send_tombstone(self, node.handle, t.group);
        if (is_dropped(self, t.group)) drop_local_members(self, t.group);
      }
    },
    [=](relay_digest_atom, digest_message& d) {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node() || st.outgoing_digests.size() >= max_waiting_digests) return;
      st.outgoing_digests.push_back({sender, std::move(d)});
      if (st.digest_flush_armed) return;
      st.digest_flush_armed = true;
      self->delayed_send(self, digest_batch_window, flush_digests_atom::value);
    },
    [=](flush_digests_atom) { flush_digests(self); },
    [=](digests_atom, std::vector<relayed_digest>& digests) {
      if (!from_trusted(self)) return;
      if (auto* node = node_of_sender(self)) deliver_digests(self, *node, digests);
    },
    [=](stats_atom) -> caf::result<membership_stats> {
      if (!from_trusted(self)) return not_trusted();
      return self->state.stats;
    },
    [=](hello_atom, caf::actor& from, std::vector<member_entry>& entries, std::vector<caf::actor>& nodes,
        const std::string& announced) {
      if (!from_trusted(self)) return log_refused(self, from, "hello before proving the cluster secret");
      if (!sent_by(self, from)) return log_refused(self, from, "a hello on behalf of another actor");
      add_node(self, from);
      self->send(caf::actor_cast<membership_actor>(from), hello_ack_atom::value, self_handle(self), local_entries(self),
                 known_nodes(self), self->state.own_address);
      learn(self, from, entries, nodes, announced);
    },
    [=](hello_ack_atom, caf::actor& from, std::vector<member_entry>& entries, std::vector<caf::actor>& nodes,
        const std::string& announced) {
      if (!from_trusted(self)) return log_refused(self, from, "hello before proving the cluster secret");
      if (!sent_by(self, from)) return log_refused(self, from, "a hello on behalf of another actor");
      add_node(self, from);
      learn(self, from, entries, nodes, announced);
    },
    [=](member_up_atom, const std::string& group, caf::strong_actor_ptr& who) {
      if (!from_trusted(self)) return;
      auto* node = node_of_sender(self);
      if (!node || !who) return;
      auto& ms = node->groups[group];
      if (ms.size() < max_members_per_group && ms.insert(who).second) announce_up(self, group, who);
    },
    [=](member_down_atom, const std::string& group, const caf::actor_addr& who) {
      if (!from_trusted(self)) return;
      auto* node = node_of_sender(self);
      if (!node) return;
      auto it = node->groups.find(group);
      if (it == node->groups.end()) return;
      for (auto m = it->second.begin(); m != it->second.end(); ++m) {
        if ((*m)->address() != who) continue;
        it->second.erase(m);
        announce_down(self, group, who);
        return;
      }
    },
    [=](auth_hello_atom, caf::actor& from, const std::string& nonce_a) {
      auto& st = self->state;
      if (st.secret.empty() || !sent_by(self, from) || nonce_a.size() != 32) return;
      if (st.incoming.size() >= max_open_handshakes) st.incoming.erase(st.incoming.begin());
      auto nonce_b = detail::random_nonce();
      st.incoming[from.address()] = {nonce_a, nonce_b};
      auto mac_b = handshake_mac(st.secret, role::responder, from.node(), self->node(), nonce_a, nonce_b);
      self->send(caf::actor_cast<membership_actor>(from), auth_challenge_atom::value, self_handle(self), nonce_a,
                 nonce_b, mac_b);
    },
    [=](auth_challenge_atom, caf::actor& from, const std::string& nonce_a, const std::string& nonce_b,
        const std::string& mac_b) {
      auto& st = self->state;
      auto it = sent_by(self, from) ? st.outgoing.find(from.address()) : st.outgoing.end();
      if (it == st.outgoing.end() || it->second != nonce_a) return;  // none running, or an older one
      st.outgoing.erase(it);
      // Verify before proving: a node that cannot show the secret gets nothing made with it.
      auto expected_b = handshake_mac(st.secret, role::responder, self->node(), from.node(), nonce_a, nonce_b);
      if (!detail::same_mac(mac_b, expected_b)) return log_refused(self, from, "it does not know the cluster secret");
      auto mac_a = handshake_mac(st.secret, role::initiator, self->node(), from.node(), nonce_a, nonce_b);
      self->send(caf::actor_cast<membership_actor>(from), auth_proof_atom::value, self_handle(self), nonce_b, mac_a);
      st.trusted.insert(from.node());
      if (add_node(self, from)) say_hello(self, from);
    },
    [=](auth_proof_atom, caf::actor& from, const std::string& nonce_b, const std::string& mac_a) {
      auto& st = self->state;
      auto it = sent_by(self, from) ? st.incoming.find(from.address()) : st.incoming.end();
      if (it == st.incoming.end() || it->second.second != nonce_b) return;  // none running, or an older one
      auto nonce_a = it->second.first;
      st.incoming.erase(it);
      auto expected_a = handshake_mac(st.secret, role::initiator, from.node(), self->node(), nonce_a, nonce_b);
      if (!detail::same_mac(mac_a, expected_a)) return log_refused(self, from, "it does not know the cluster secret");
      st.trusted.insert(from.node());  // its hello, sent right after the proof, is accepted now
    },
  };
}

}  // namespace

membership_actor spawn_membership(caf::actor_system& sys, membership_options opts) {
  return caf::actor_cast<membership_actor>(sys.spawn(membership_behavior, caf::to_string(sys.node()), std::move(opts)));
}

expected<std::uint16_t> listen(caf::actor_system& sys, const membership_actor& membership, std::uint16_t port,
                               const std::string& address) {
  if (auto ok = detail::check_exposure(sys, "listen on", address); !ok) return ok.error();
  auto bound = uses_tls(sys) ? caf::openssl::publish(membership, port, address.c_str(), true)
                             : sys.middleman().publish(membership, port, address.c_str(), true);
  if (!bound)
    return error(errc::unavailable,
                 "cannot listen on " + address + ":" + std::to_string(port) + ": " + sys.render(bound.error()));
  // What others redial. Sent by a local actor: with a secret, membership ignores anonymous messages.
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
