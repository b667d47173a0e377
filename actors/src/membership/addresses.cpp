#include "addresses.hpp"

#include <cstdlib>

namespace grove::actors::membership {

bool addresses::evict_one() {
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const auto& e = it->second;
    if (e.node || e.seed || e.dialing || !e.waiting.empty()) continue;
    if (victim == entries_.end() || e.last_connected < victim->second.last_connected) victim = it;
  }
  if (victim == entries_.end()) return false;
  entries_.erase(victim);
  return true;
}

addresses::entry* addresses::remember(const std::string& host, std::uint16_t port, bool seed) {
  auto k = key(host, port);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= max_known_addresses && !evict_one()) return nullptr;
    it = entries_.emplace(k, entry{}).first;
    it->second.host = host;
    it->second.port = port;
  }
  it->second.seed = it->second.seed || seed;
  return &it->second;
}

void addresses::announced(const std::string& address, const node_key& node, timestamp now) {
  auto colon = address.rfind(':');
  if (address.empty() || address == own_ || colon == std::string::npos) return;
  auto port = std::strtoul(address.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return;
  auto* e = remember(address.substr(0, colon), static_cast<std::uint16_t>(port), false);
  if (!e) return;
  e->node = node;
  e->last_connected = now;
  e->delay = reconnect_first_delay;
}

addresses::entry* addresses::find(const std::string& key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::string> addresses::key_of(const node_key& node) const {
  for (const auto& [k, e] : entries_)
    if (e.node == node) return k;
  return std::nullopt;
}

void addresses::connected(const std::string& key, const node_key& node, timestamp now) {
  auto* e = find(key);
  if (!e) return;
  e->dialing = false;
  e->node = node;
  e->last_connected = now;
}

std::vector<std::string> addresses::disconnected(const node_key& node) {
  std::vector<std::string> out;
  for (auto& [k, e] : entries_) {
    if (e.node != node) continue;
    e.node.reset();
    e.delay = reconnect_first_delay;
    out.push_back(k);
  }
  return out;
}

bool addresses::start_dial(const std::string& key) {
  auto* e = find(key);
  if (!e || e->dialing || e->node) return false;
  e->dialing = true;
  return true;
}

std::optional<timestamp> addresses::schedule(const std::string& key) {
  auto* e = find(key);
  if (!e || e->scheduled || e->dialing || e->node) return std::nullopt;
  e->scheduled = true;
  auto delay = e->delay;
  e->delay = std::min(e->delay * 2, timestamp(reconnect_max_delay));
  return delay;
}

std::pair<std::vector<std::string>, std::vector<std::string>> addresses::listing() const {
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  for (const auto& [k, e] : entries_) (e.node ? out.first : out.second).push_back(k);
  return out;
}

}  // namespace grove::actors::membership
