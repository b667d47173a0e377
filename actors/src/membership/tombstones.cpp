#include "tombstones.hpp"

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

}  // namespace grove::actors::membership
