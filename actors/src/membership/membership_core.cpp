#include "membership_core.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>

#include "grove/crdt/escape.hpp"

namespace grove::actors::membership {

membership_core::membership_core(core_options opts)
    : opts_(std::move(opts)),
      handshake_(opts_.secret, opts_.self, opts_.random),
      tombstones_(opts_.tombstone_lifetime, opts_.max_tombstones),
      liveness_(opts_.self) {}

namespace {

// Where a node keeps its tombstones.
const storage::group_key tombstones_key{"grove.tombstones", "membership"};

}  // namespace

void membership_core::start(timestamp, effects& out) {
  if (!opts_.has_storage) return;
  loading_ = ++next_storage_id_;
  out.storage.push_back({loading_, tombstones_key, {}, true});
}

void membership_core::on_storage_done(std::uint64_t id, const status& outcome, const std::optional<bytes>& value,
                                      timestamp now, effects& out) {
  if (id != loading_) {
    if (!outcome) log("cannot save the tombstones: " + outcome.error().to_string(), out);
    return;
  }
  loading_ = 0;
  if (!outcome) return log("cannot load the tombstones: " + outcome.error().to_string(), out);
  if (value)
    if (auto ok = tombstones_.restore(*value, now); !ok)
      log("the stored tombstones are unreadable: " + ok.error().to_string(), out);
}

// A dropped group stays dropped across restarts: every new tombstone is written at once.
void membership_core::save_tombstones(effects& out) {
  if (!opts_.has_storage) return;
  out.storage.push_back(
    {++next_storage_id_, {}, {storage::write_op::save(tombstones_key, tombstones_.encode())}, false});
}

void membership_core::log(const std::string& line, effects& out) {
  out.log_lines.push_back("[grove] membership " + opts_.name + ": " + line);
}

void membership_core::refuse(const node_key& from, const std::string& why, effects& out) {
  ++stats_.refused;
  log("node " + name_of(from) + " refused: " + why, out);
}

std::string membership_core::name_of(const node_key& node) const {
  if (auto key = addresses_.key_of(node)) return *key;
  return node;
}

// -- local replicas -------------------------------------------------------------------------------

std::vector<member_ref> membership_core::members(const std::string& group) const {
  std::vector<member_ref> out;
  if (auto it = local_.find(group); it != local_.end())
    for (const auto& [m, id] : it->second) out.push_back(m);
  for (const auto& [key, node] : nodes_)
    if (auto it = node.groups.find(group); it != node.groups.end())
      for (const auto& [m, id] : it->second) out.push_back(m);
  return out;
}

std::set<std::string> membership_core::replica_ids(const std::string& group) const {
  std::set<std::string> out;
  if (auto it = local_.find(group); it != local_.end())
    for (const auto& [m, id] : it->second) out.insert(id);
  for (const auto& [key, node] : nodes_) {
    if (node.greeted && node.hosts_every_group && !node.name.empty()) out.insert(node.name);
    if (auto it = node.groups.find(group); it != node.groups.end())
      for (const auto& [m, id] : it->second) out.insert(id);
  }
  out.erase(std::string());
  return out;
}

std::vector<std::string> membership_core::groups() const {
  std::set<std::string> names;
  for (const auto& [group, ms] : local_) names.insert(group);
  for (const auto& [key, node] : nodes_)
    for (const auto& [group, ms] : node.groups)
      if (!ms.empty()) names.insert(group);
  return {names.begin(), names.end()};
}

expected<std::vector<member_ref>> membership_core::join(const std::string& group, const member_ref& who,
                                                        const std::string& replica_id, timestamp now, effects& out) {
  if (group.empty()) return error(errc::invalid_argument, "join needs a group and a replica");
  if (tombstones_.dropped(group, now)) {
    out.to_members.push_back({who, group_dropped{group}});
    out.events.push_back({"dropped", group});
    return error(errc::not_found, "group " + group + " was dropped; it can be made again once its tombstone expires");
  }
  auto& here = local_[group];
  if (here.size() >= max_members_per_group && here.count(who) == 0)
    return error(errc::too_large,
                 "group " + group + " already has " + std::to_string(max_members_per_group) + " members on this node");
  auto peers = members(group);
  if (here.emplace(who, replica_id).second) {
    joined_[who].insert(group);
    announce_up(group, who, replica_id, opts_.self, now, out);
    for (const auto& [key, node] : nodes_) out.to_nodes.push_back({key, member_change{group, who, replica_id, true}});
  }
  auto ids = replica_ids(group);
  out.to_members.push_back({who, group_replicas{group, {ids.begin(), ids.end()}}});
  peers.erase(std::remove(peers.begin(), peers.end(), who), peers.end());
  return peers;
}

void membership_core::leave(const std::string& group, const member_ref& who, effects& out) {
  remove_local(group, who, out);
  auto it = joined_.find(who);
  if (it == joined_.end()) return;
  it->second.erase(group);
  if (it->second.empty()) joined_.erase(it);
}

void membership_core::member_died(const member_ref& who, effects& out) {
  auto it = joined_.find(who);
  if (it == joined_.end()) return;
  auto groups = std::move(it->second);
  joined_.erase(it);
  for (const auto& g : groups) remove_local(g, who, out);
}

void membership_core::remove_local(const std::string& group, const member_ref& who, effects& out) {
  auto it = local_.find(group);
  if (it == local_.end()) return;
  auto m = it->second.find(who);
  if (m == it->second.end()) return;
  auto replica_id = m->second;
  it->second.erase(m);
  if (it->second.empty()) local_.erase(it);
  announce_down(group, who, out);
  for (const auto& [key, node] : nodes_) out.to_nodes.push_back({key, member_change{group, who, replica_id, false}});
}

// Tells the local members of `group` (except `who`) that `who` appeared; when this node has no
// member of the group, tells the watchers that another node hosts it ("group" event). A member of
// a dropped group is not announced: its node is told to drop it.
void membership_core::announce_up(const std::string& group, const member_ref& who, const std::string& replica_id,
                                  const node_key& from, timestamp now, effects& out) {
  if (tombstones_.dropped(group, now)) {
    if (from != opts_.self) out.to_nodes.push_back({from, tombstones_.of({group}, now)});
    return;
  }
  auto it = local_.find(group);
  if (it == local_.end() || it->second.empty()) {
    out.events.push_back({"group", group});
    return;
  }
  for (const auto& [m, id] : it->second) {
    if (m == who) continue;
    out.to_members.push_back({m, peer_up{group, who}});
    if (!replica_id.empty()) out.to_members.push_back({m, group_replicas{group, {replica_id}}});
  }
}

void membership_core::announce_down(const std::string& group, const member_ref& who, effects& out) {
  auto it = local_.find(group);
  if (it == local_.end()) return;
  for (const auto& [m, id] : it->second) out.to_members.push_back({m, peer_down{group, who}});
}

// -- dropped groups -------------------------------------------------------------------------------

void membership_core::drop_local_members(const std::string& group, effects& out) {
  auto it = local_.find(group);
  if (it == local_.end()) return;
  for (const auto& [m, id] : it->second) out.to_members.push_back({m, group_dropped{group}});
  out.events.push_back({"dropped", group});
}

status membership_core::drop(const std::string& group, timestamp now, effects& out) {
  if (group.empty()) return error(errc::invalid_argument, "drop needs a group");
  if (tombstones_.add(group, tombstones_.lifetime(), now)) save_tombstones(out);
  drop_local_members(group, out);
  for (const auto& [key, node] : nodes_) out.to_nodes.push_back({key, tombstones_.of({group}, now)});
  resending_[group] = now + tombstone_resend_window;
  return {};
}

// A tombstone is not acknowledged: one lost while a link loses messages without its connection
// closing would never come again (greetings carry tombstones, but no greeting follows an outage
// shorter than failure detection's bound). So the node that dropped a group sends its tombstone to
// every node once a liveness tick for tombstone_resend_window: an outage that long is noticed, and
// the node greets again when it comes back.
void membership_core::resend_tombstones(timestamp now, effects& out) {
  std::vector<std::string> groups;
  for (auto it = resending_.begin(); it != resending_.end();)
    if (it->second <= now || !tombstones_.dropped(it->first, now)) {
      it = resending_.erase(it);
    } else {
      groups.push_back(it->first);
      ++it;
    }
  if (groups.empty()) return;
  for (const auto& [key, node] : nodes_) out.to_nodes.push_back({key, tombstones_.of(groups, now)});
}

// A member change lost on a link that healed before failure detection noticed (grove-sim seed
// 23303: a replica refused every message of another node's replica for good, so neither pruning
// nor a two-node cluster could finish). The refusal is the evidence; the hello's answer repairs it.
void membership_core::stranger(const std::string& group, const member_ref& who, effects& out) {
  auto* node = known_node(who.node);
  if (!node || !node->greeted) return;
  if (auto g = node->groups.find(group); g != node->groups.end() && g->second.count(who)) return;  // peer_up on its way
  if (!greeted_again_.insert(who.node).second) return;
  ++stats_.greeted_again;
  out.to_nodes.push_back({who.node, make_hello(false)});
}

// -- addresses and dialling -------------------------------------------------------------------------

void membership_core::advertise(const std::string& host, std::uint16_t port) {
  bool wildcard = host.empty() || host == "0.0.0.0" || host == "::";
  addresses_.set_own(wildcard ? std::string() : addresses::key(host, port));
}

expected<bool> membership_core::connect(std::uint64_t id, const std::string& host, std::uint16_t port, timestamp,
                                        effects& out) {
  auto* a = addresses_.remember(host, port, true);
  if (!a)
    return error(errc::too_large, "this node already remembers " + std::to_string(max_known_addresses)
                                    + " addresses that it cannot forget");
  if (a->node) return true;
  a->waiting.push_back(id);
  dial(addresses::key(host, port), out);  // answers when this attempt (or the one running) ends
  return false;
}

void membership_core::dial(const std::string& key, effects& out) {
  if (!addresses_.start_dial(key)) return;
  auto* a = addresses_.find(key);
  out.dials.push_back({key, a->host, a->port});
}

void membership_core::schedule_dial(const std::string& key, effects& out) {
  if (auto delay = addresses_.schedule(key)) out.timers.push_back({timer_kind::redial, *delay, key, {}});
}

void membership_core::answer_waiting(addresses::entry& a, const status& outcome, effects& out) {
  for (auto id : a.waiting) out.replies.push_back({id, outcome});
  a.waiting.clear();
}

void membership_core::on_dialed(const std::string& key, const node_key& node, timestamp now, effects& out) {
  addresses_.connected(key, node, now);
  if (auto* a = addresses_.find(key)) answer_waiting(*a, {}, out);
  introduce(node, now, out);
}

void membership_core::on_dial_failed(const std::string& key, const error& why, effects& out) {
  auto* a = addresses_.find(key);
  if (!a) return;
  a->dialing = false;
  answer_waiting(*a, why, out);
  schedule_dial(key, out);
}

// A connection that closes with no address to dial the node again (it listens nowhere, or did not
// say where) would part the two nodes for good. CAF 0.17 closes such connections now and then just
// after two nodes that learned of each other through a third began or ended their introduction
// (about one run in 150 of consistency_test, five three-node fixtures each, under load). So every
// greeted node is greeted again at the next liveness tick, and an answer that names the lost node
// starts its introduction anew.
void membership_core::on_node_down(const node_key& node, effects& out) {
  lost_.erase(node);
  bool known = nodes_.count(node) > 0 || introducing_.count(node) > 0;
  if (known && !addresses_.key_of(node)) ask_again_ = true;  // no log line: every departure of such a node does it
  forget(node, out);
}

// What follows the loss of a node, whether its connection closed or failure detection took it as
// gone: its replicas are down for the local members, and its addresses are dialled again.
void membership_core::forget(const node_key& node, effects& out) {
  auto name = name_of(node);
  handshake_.forget(node);
  introducing_.erase(node);
  probed_.erase(node);
  liveness_.remove(node);
  for (const auto& key : addresses_.disconnected(node)) schedule_dial(key, out);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  auto gone = std::move(it->second);
  nodes_.erase(it);
  for (const auto& [group, ms] : gone.groups)
    for (const auto& [m, id] : ms) announce_down(group, m, out);
  if (gone.greeted) out.events.push_back({"down", name});
}

// -- introductions --------------------------------------------------------------------------------

// Starts knowing `node`: a version probe first; then (proceed) the handshake when there is a
// secret, else the hello. The introduction ends when the node's hello arrives. Until then each
// deadline repeats the step that got no answer (CAF can lose messages while it sorts out two
// connections dialled at once), for as long as the node is connected: it is watched from the
// start, and its loss (on_node_down) ends the introduction.
void membership_core::introduce(const node_key& node, timestamp, effects& out) {
  if (node == opts_.self || nodes_.count(node) > 0 || introducing_.count(node) > 0) return;
  out.monitors.push_back(node);
  probe(node, out);
}

void membership_core::probe(const node_key& node, effects& out) {
  out.to_nodes.push_back({node, version_probe{protocol_version, false}});
  arm_introduction_deadline(node, out);
}

void membership_core::arm_introduction_deadline(const node_key& node, effects& out) {
  auto nonce = std::to_string(++next_nonce_);
  introducing_[node] = nonce;
  out.timers.push_back({timer_kind::introduction_deadline, handshake_deadline, node, nonce});
}

void membership_core::proceed(const node_key& node, effects& out) {
  if (handshake_.required()) {
    if (auto h = handshake_.start(node)) out.to_nodes.push_back({node, *h});
    return;
  }
  if (add_node(node, out)) out.to_nodes.push_back({node, make_hello(false)});
}

bool membership_core::add_node(const node_key& node, effects& out) {
  if (node == opts_.self || nodes_.count(node) > 0) return false;
  nodes_[node] = node_info{};
  if (introducing_.count(node) == 0) {  // the other node began: watch it, and wait for its hello
    out.monitors.push_back(node);
    arm_introduction_deadline(node, out);
  }
  return true;
}

hello membership_core::make_hello(bool answer) const {
  hello h;
  h.answer = answer;
  h.name = opts_.name;
  h.hosts_every_group = opts_.hosts_every_group;
  for (const auto& [group, ms] : local_)
    for (const auto& [m, id] : ms) h.members.push_back({group, m, id});
  for (const auto& [key, node] : nodes_) h.nodes.push_back(key);
  h.address = addresses_.own();
  return h;
}

// Whether a node message may be acted on: the node's version matched and, with a secret, it proved
// the secret. Such a message is a sign of life. A node that failure detection took as gone but
// that speaks again (its connection outlived the silence) is introduced anew, and its messages are
// dropped until that is done.
bool membership_core::from_trusted(const node_key& from, const char* what, timestamp now, effects& out) {
  bool probed = probed_.count(from) > 0;
  if (probed && handshake_.trusts(from)) {
    liveness_.heard(from, now);
    return true;
  }
  if (lost_.count(from) > 0) {
    if (introducing_.count(from) == 0) {
      log("node " + name_of(from) + " speaks again: introducing it anew", out);
      introduce(from, now, out);
    }
    return false;
  }
  refuse(
    from,
    std::string(what) + (probed ? " before proving the cluster secret" : " before its protocol version was checked"),
    out);
  return false;
}

membership_core::node_info* membership_core::known_node(const node_key& from) {
  auto it = nodes_.find(from);
  return it == nodes_.end() ? nullptr : &it->second;
}

void membership_core::receive(const node_key& from, const version_probe& m, timestamp, effects& out) {
  if (m.version != protocol_version) {
    refuse(from,
           "it speaks protocol version " + std::to_string(m.version) + ", this node " + std::to_string(protocol_version)
             + " (rolling upgrades need nodes of one version: docs/protocol.md)",
           out);
    if (!m.answer) out.to_nodes.push_back({from, version_probe{protocol_version, true}});  // so it says so too
    introducing_.erase(from);
    return;
  }
  probed_.insert(from);
  if (!m.answer) return out.to_nodes.push_back({from, version_probe{protocol_version, true}});
  if (introducing_.count(from) > 0) proceed(from, out);
}

void membership_core::receive(const node_key& from, const auth_hello& m, timestamp, effects& out) {
  if (probed_.count(from) == 0) return refuse(from, "a handshake before its protocol version was checked", out);
  if (auto c = handshake_.challenge(from, m)) out.to_nodes.push_back({from, *c});
}

void membership_core::receive(const node_key& from, const auth_challenge& m, timestamp, effects& out) {
  auto v = handshake_.on_challenge(from, m);
  if (!v.refusal.empty()) return refuse(from, v.refusal, out);
  if (v.answer) out.to_nodes.push_back({from, *v.answer});
  if (v.proved && add_node(from, out)) out.to_nodes.push_back({from, make_hello(false)});
}

void membership_core::receive(const node_key& from, const auth_proof& m, timestamp, effects& out) {
  auto v = handshake_.on_proof(from, m);
  if (!v.refusal.empty()) refuse(from, v.refusal, out);
}

void membership_core::receive(const node_key& from, hello& m, timestamp now, effects& out) {
  if (!from_trusted(from, "a hello", now, out)) return;
  add_node(from, out);
  if (!m.answer) out.to_nodes.push_back({from, make_hello(true)});
  learn(from, m, now, out);
}

// Records what a node reported and introduces this node to the nodes it did not know; the first
// hello of a node announces it as up. A node speaks only for its own replicas.
void membership_core::learn(const node_key& from, hello& m, timestamp now, effects& out) {
  auto* node = known_node(from);
  if (!node) return;
  node->name = m.name;
  node->hosts_every_group = m.hosts_every_group;
  addresses_.announced(m.address, from, now);
  if (!node->greeted) {
    node->greeted = true;
    introducing_.erase(from);
    lost_.erase(from);
    liveness_.add(from, now);
    arm_liveness(now, out);
    out.events.push_back({"up", name_of(from)});
    if (node->hosts_every_group && !node->name.empty())  // it will host every group of this node too
      for (const auto& [group, ms] : local_)
        for (const auto& [member, id] : ms) out.to_members.push_back({member, group_replicas{group, {node->name}}});
    if (auto dropped = tombstones_.all(now); !dropped.empty()) out.to_nodes.push_back({from, std::move(dropped)});
  }
  bool spoke_for_others = false;
  for (auto& e : m.members) {
    if (e.member.node != from) {
      spoke_for_others = true;
      continue;
    }
    if (e.group.empty()) continue;
    auto& ms = node->groups[e.group];
    if (ms.size() >= max_members_per_group) continue;
    if (ms.emplace(e.member, e.replica_id).second) announce_up(e.group, e.member, e.replica_id, from, now, out);
  }
  if (spoke_for_others) refuse(from, "its hello named replicas of other nodes (ignored)", out);
  if (m.nodes.size() > max_known_addresses) return refuse(from, "its hello named too many nodes (ignored)", out);
  for (const auto& n : m.nodes) introduce(n, now, out);
}

void membership_core::receive(const node_key& from, const member_change& m, timestamp now, effects& out) {
  if (!from_trusted(from, "a member change", now, out)) return;
  auto* node = known_node(from);
  if (!node) return;
  if (m.member.node != from) return refuse(from, "it announced a replica of another node", out);
  auto& ms = node->groups[m.group];
  if (m.up) {
    if (ms.size() < max_members_per_group && ms.emplace(m.member, m.replica_id).second)
      announce_up(m.group, m.member, m.replica_id, from, now, out);
    return;
  }
  if (ms.erase(m.member) > 0) announce_down(m.group, m.member, out);
}

void membership_core::receive(const node_key& from, const std::vector<tombstone>& m, timestamp now, effects& out) {
  if (!from_trusted(from, "tombstones", now, out) || !known_node(from)) return;
  for (const auto& t : m) {
    if (t.group.empty()) continue;
    // A tombstone new here goes on to the other nodes (each forwards it once, so it ends).
    auto remaining = timestamp(static_cast<timestamp::rep>(std::min<std::uint64_t>(t.remaining_ms, 1ull << 40)));
    if (tombstones_.add(t.group, remaining, now)) {
      save_tombstones(out);
      for (const auto& [key, node] : nodes_)
        if (key != from) out.to_nodes.push_back({key, tombstones_.of({t.group}, now)});
    }
    if (tombstones_.dropped(t.group, now)) drop_local_members(t.group, out);
  }
}

// -- anti-entropy per pair of nodes -----------------------------------------------------------------

void membership_core::relay_digest(const member_ref& from, digest_message d, std::vector<node_key> to, effects& out) {
  if (outgoing_digests_.size() >= max_waiting_digests) return;
  std::sort(to.begin(), to.end());  // one copy per node, however many of its replicas it is for
  to.erase(std::unique(to.begin(), to.end()), to.end());
  outgoing_digests_.push_back({{from, std::move(d)}, std::move(to)});
  if (digest_flush_armed_) return;
  digest_flush_armed_ = true;
  out.timers.push_back({timer_kind::flush_digests, digest_batch_window, {}, {}});
}

// Sends each node the waiting digests meant for it, of the groups it hosts, in as few messages as
// fit.
void membership_core::flush_digests(effects& out) {
  digest_flush_armed_ = false;
  auto waiting = std::move(outgoing_digests_);
  outgoing_digests_.clear();
  std::map<node_key, std::vector<relayed_digest>> batches;
  for (const auto& w : waiting)
    for (const auto& key : w.to) {
      auto node = nodes_.find(key);
      if (node == nodes_.end()) continue;
      auto hosts = node->second.groups.find(w.digest.digest.group);
      if (hosts != node->second.groups.end() && !hosts->second.empty()) batches[key].push_back(w.digest);
    }
  for (auto& [key, digests] : batches)
    for (auto first = digests.begin(); first != digests.end();) {
      auto last = first + std::min<std::ptrdiff_t>(max_digests_per_message, digests.end() - first);
      stats_.digests_relayed += static_cast<std::uint64_t>(last - first);
      ++stats_.digest_messages;
      out.to_nodes.push_back(
        {key, std::vector<relayed_digest>(std::make_move_iterator(first), std::make_move_iterator(last))});
      first = last;
    }
}

// Digests another node relayed: each goes to the local members of its group, as the replica that
// made it, and only if that replica is a member there (a node cannot speak for others); one per
// replica and group in a message, and at most max_digests_per_message in one.
void membership_core::receive(const node_key& from, std::vector<relayed_digest>& m, timestamp now, effects& out) {
  if (!from_trusted(from, "digests", now, out)) return;
  auto* node = known_node(from);
  if (!node) return;
  if (m.size() > max_digests_per_message)
    return refuse(
      from,
      "a message of " + std::to_string(m.size()) + " digests (at most " + std::to_string(max_digests_per_message) + ")",
      out);
  std::set<std::pair<member_ref, std::string>> seen;
  for (auto& r : m) {
    auto members = node->groups.find(r.digest.group);
    if (members == node->groups.end() || members->second.count(r.from) == 0) {
      ++stats_.digests_refused;
      if (r.from.node == from) stranger(r.digest.group, r.from, out);
      continue;
    }
    if (!seen.emplace(r.from, r.digest.group).second) {
      ++stats_.digests_refused;
      continue;
    }
    auto local = local_.find(r.digest.group);
    if (local == local_.end()) continue;
    for (const auto& [member, id] : local->second) out.digests.push_back({r.from, member, r.digest});
  }
}

// -- failure detection (liveness.hpp) ---------------------------------------------------------------

void membership_core::receive(const node_key& from, const liveness_probe& m, timestamp now, effects& out) {
  if (from_trusted(from, "a probe", now, out)) out.to_nodes.push_back({from, liveness_ack{m.seq}});
}

void membership_core::receive(const node_key& from, const liveness_ack&, timestamp now, effects& out) {
  from_trusted(from, "a probe's answer", now, out);
}

void membership_core::receive(const node_key& from, const node_unreachable& m, timestamp now, effects& out) {
  if (!from_trusted(from, "a report of an unreachable node", now, out)) return;
  if (liveness_.suspect(m.node, now)) out.to_nodes.push_back({m.node, liveness_probe{++next_probe_}});
}

// Ticks fall on whole multiples of the interval of the wall clock, on every node alike: a node's
// heartbeats then arrive together, and it wakes once a second for them rather than once for each
// (what an idle node costs is mostly its wake-ups).
void membership_core::arm_liveness(timestamp now, effects& out) {
  if (liveness_armed_ || liveness_.empty()) return;
  liveness_armed_ = true;
  auto phase = now.count() % liveness_probe_interval.count();
  out.timers.push_back({timer_kind::liveness_tick, liveness_probe_interval - timestamp(phase), {}, {}});
}

// Sends this node's watchers a heartbeat and probes the late and the suspected nodes; a watched
// node found silent is reported to every other node, and it and a suspected node confirmed silent
// are taken as gone. CAF 0.17 cannot be asked to close their connections: until its heartbeat
// backstop does (transport_silence_timeout), a word from such a node starts its introduction again
// (from_trusted).
void membership_core::check_liveness(timestamp now, effects& out) {
  liveness_armed_ = false;
  auto v = liveness_.tick(now);
  for (const auto& node : v.heartbeat) out.to_nodes.push_back({node, liveness_ack{0}});
  for (const auto& node : v.probe) out.to_nodes.push_back({node, liveness_probe{++next_probe_}});
  for (const auto& node : v.silent)
    for (const auto& [key, info] : nodes_)
      if (key != node) out.to_nodes.push_back({key, node_unreachable{node}});
  for (const auto* gone : {&v.silent, &v.confirmed})
    for (const auto& node : *gone) {
      ++stats_.unreachable;
      log("node " + name_of(node) + " silent for " + std::to_string(liveness_timeout.count()) + " ms: taken as gone",
          out);
      lost_.insert(node);
      forget(node, out);
    }
  resend_tombstones(now, out);
  greeted_again_.clear();
  if (ask_again_)
    for (const auto& [key, info] : nodes_)
      if (info.greeted) {
        ++stats_.asked_again;
        out.to_nodes.push_back({key, make_hello(false)});
      }
  ask_again_ = false;
  arm_liveness(now, out);
}

// -- timers -----------------------------------------------------------------------------------------

// An introduction not finished by its deadline: a node that took this one's hello is greeted again
// (it answers a hello that is no answer: this hello or its answer was lost); one that did not get
// that far is probed again, its handshake forgotten.
void membership_core::introduction_overdue(const timer_request& t, effects& out) {
  auto it = introducing_.find(t.key);
  if (it == introducing_.end() || it->second != t.nonce) return;
  if (nodes_.count(t.key) > 0) {
    out.to_nodes.push_back({t.key, make_hello(false)});
    return arm_introduction_deadline(t.key, out);
  }
  handshake_.forget(t.key);
  probe(t.key, out);
}

void membership_core::on_timer(const timer_request& t, timestamp now, effects& out) {
  switch (t.kind) {
    case timer_kind::redial:
      if (auto* a = addresses_.find(t.key)) {
        a->scheduled = false;
        dial(t.key, out);
      }
      return;
    case timer_kind::introduction_deadline: return introduction_overdue(t, out);
    case timer_kind::flush_digests: return flush_digests(out);
    case timer_kind::liveness_tick: return check_liveness(now, out);
  }
}

}  // namespace grove::actors::membership
