#include "pruning.hpp"

#include "quorum.hpp"

namespace grove::actors::replica {

std::vector<std::string> pruning::predecessors(const std::vector<std::string>& origins, const std::string& self,
                                               const std::set<std::string>& live) const {
  std::vector<std::string> out;
  for (const auto& o : origins)
    if (o != self && replica_id_of(o) == own_ && live.count(o) == 0) out.push_back(o);
  return out;
}

void pruning::arm(effects& out) {
  if (armed_) return;
  armed_ = true;
  out.timers.push_back({timer_kind::prune_check, interval_, 0});
}

bool pruning::agreed(const std::string& origin, std::uint64_t digest, const std::set<std::string>& replicas) const {
  auto it = answers_.find(origin);
  for (const auto& id : replicas) {
    if (id == own_) continue;
    if (it == answers_.end()) return false;
    auto answer = it->second.find(id);
    if (answer == it->second.end() || answer->second != digest) return false;
  }
  return true;
}

}  // namespace grove::actors::replica
