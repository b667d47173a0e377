#include "liveness.hpp"

#include <algorithm>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace grove::actors::membership {

namespace {

// A watched node whose heartbeat is this late is asked directly (it may not know it is watched by
// this node: their views of the cluster differ for a moment).
constexpr timestamp probe_after = liveness_probe_interval + liveness_probe_interval / 2;

// A node's place on the ring: a hash of its key, so that the ring mixes nodes of every host and
// start time, and every node computes the same ring from the same members.
std::uint64_t ring_position(const node_key& node) { return XXH3_64bits(node.data(), node.size()); }

}  // namespace

liveness::liveness(node_key self) : self_(std::move(self)), self_position_(ring_position(self_)) {}

void liveness::add(const node_key& node, timestamp now) {
  if (node == self_) return;
  nodes_.emplace(node, entry{ring_position(node), now, std::nullopt});
}

void liveness::remove(const node_key& node) {
  nodes_.erase(node);
  watching_.erase(node);
}

void liveness::heard(const node_key& node, timestamp now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  it->second.silent_since = std::max(it->second.silent_since, now);
  it->second.suspected.reset();
}

bool liveness::suspect(const node_key& node, timestamp now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.suspected) return false;
  it->second.suspected = now;
  return true;
}

// Every other node, clockwise from this one on the ring.
std::vector<node_key> liveness::ring_order() const {
  std::vector<std::pair<std::uint64_t, node_key>> ring;
  ring.reserve(nodes_.size());
  for (const auto& [key, e] : nodes_) ring.emplace_back(e.position, key);
  std::sort(ring.begin(), ring.end());
  std::rotate(ring.begin(), std::upper_bound(ring.begin(), ring.end(), std::make_pair(self_position_, self_)),
              ring.end());
  std::vector<node_key> out;
  out.reserve(ring.size());
  for (auto& [position, key] : ring) out.push_back(std::move(key));
  return out;
}

std::vector<node_key> liveness::watched() const {
  auto ring = ring_order();
  ring.resize(std::min(ring.size(), watched_successors));
  return ring;
}

std::vector<node_key> liveness::watchers() const {
  auto ring = ring_order();
  std::reverse(ring.begin(), ring.end());
  ring.resize(std::min(ring.size(), watched_successors));
  return ring;
}

void liveness::restart_silences(timestamp now) {
  for (auto& [key, e] : nodes_) {
    e.silent_since = now;
    if (e.suspected) e.suspected = now;
  }
}

liveness::verdict liveness::tick(timestamp now) {
  if (last_tick_ && (now < *last_tick_ || now - *last_tick_ > liveness_timeout)) restart_silences(now);
  last_tick_ = now;
  verdict v;
  v.heartbeat = watchers();
  auto watched_now = watched();
  std::set<node_key> watching(watched_now.begin(), watched_now.end());
  for (auto& [key, e] : nodes_) {
    bool watch = watching.count(key) > 0;
    if (watch && watching_.count(key) == 0) e.silent_since = now;  // its watch begins
    if (watch && now - e.silent_since >= liveness_timeout)
      v.silent.push_back(key);
    else if (e.suspected && now - *e.suspected >= liveness_timeout)
      v.confirmed.push_back(key);
    else if (e.suspected || (watch && now - e.silent_since >= probe_after))
      v.probe.push_back(key);
  }
  for (const auto* gone : {&v.silent, &v.confirmed})
    for (const auto& key : *gone) nodes_.erase(key);
  watching_ = std::move(watching);
  for (const auto* gone : {&v.silent, &v.confirmed})
    for (const auto& key : *gone) watching_.erase(key);
  return v;
}

}  // namespace grove::actors::membership
