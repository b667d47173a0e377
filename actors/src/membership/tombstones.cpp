#include "tombstones.hpp"

#include <cstdio>
#include <cstdlib>

#include "grove/crdt/codec.hpp"
#include "grove/crdt/gset.hpp"

namespace grove::actors::membership {

void tombstones::purge(timestamp now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

bool tombstones::dropped(const std::string& group, timestamp now) {
  purge(now);
  return expiry_.count(group) > 0;
}

bool tombstones::add(const std::string& group, timestamp remaining, timestamp now) {
  if (dropped(group, now) || remaining.count() <= 0) return false;
  if (expiry_.size() >= max_) {  // the one that expires first goes early
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  auto expires = now + std::min(remaining, lifetime_);
  expiry_[group] = expires;
  by_expiry_.emplace(expires, group);
  return true;
}

std::vector<tombstone> tombstones::of(const std::vector<std::string>& groups, timestamp now) const {
  std::vector<tombstone> out;
  for (const auto& g : groups)
    if (auto it = expiry_.find(g); it != expiry_.end() && it->second > now)
      out.push_back({g, static_cast<std::uint64_t>((it->second - now).count())});
  return out;
}

std::vector<tombstone> tombstones::all(timestamp now) {
  purge(now);
  std::vector<std::string> groups;
  for (const auto& [g, expires] : expiry_) groups.push_back(g);
  return of(groups, now);
}

// Each entry: the expiry in milliseconds since the epoch, 20 digits, a space, the group.
bytes tombstones::encode() const {
  crdt::gset<std::string> set;
  char when[21];
  for (const auto& [group, expires] : expiry_) {
    std::snprintf(when, sizeof when, "%020lld", static_cast<long long>(expires.count()));
    set.add(std::string(when) + " " + group);
  }
  return crdt::encode(set);
}

status tombstones::restore(bytes_view stored, timestamp now) {
  auto set = crdt::decode<crdt::gset<std::string>>(stored);
  if (!set) return set.error();
  for (const auto& entry : set->value()) {
    if (entry.size() < 22 || entry[20] != ' ') continue;
    auto expires = timestamp(std::strtoll(entry.substr(0, 20).c_str(), nullptr, 10));
    add(entry.substr(21), expires - now, now);
  }
  return {};
}

}  // namespace grove::actors::membership
