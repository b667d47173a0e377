#include "quorum.hpp"

namespace grove::actors::replica {

std::string replica_id_of(const std::string& origin) { return origin.substr(0, origin.find('@')); }

std::uint32_t replicas_needed(consistency_level level, std::uint32_t group_size) {
  switch (level) {
    case consistency_level::local: return 1;
    case consistency_level::majority: return group_size / 2 + 1;
    case consistency_level::all: return group_size;
  }
  return group_size;
}

const char* level_name(consistency_level level) {
  switch (level) {
    case consistency_level::local: return "local";
    case consistency_level::majority: return "majority";
    case consistency_level::all: return "all";
  }
  return "?";
}

error too_few_replicas(const std::string& what, const consistency& level, std::uint32_t acks, std::uint32_t n,
                       const std::string& took_part, const std::string& consequence) {
  return error(errc::unavailable, what + " " + level_name(level.level) + ": " + std::to_string(acks) + " of "
                                    + std::to_string(n) + " replicas " + took_part + " within "
                                    + std::to_string(level.timeout_ms) + " ms, "
                                    + std::to_string(replicas_needed(level.level, n)) + " needed" + consequence);
}

bool quorum::saw_replica(const std::string& replica_id) {
  if (replica_id.empty() || replica_id == own_ || seen_.size() >= max_summary_origins) return false;
  return seen_.insert(replica_id).second;
}

std::uint32_t quorum::holding(std::uint64_t seq, const peer_table& peers) const {
  if (seq == 0) return group_size();  // nothing was ever sent: every replica holds it
  std::set<std::string> ids;
  for (const auto& [peer, p] : peers)
    if (p.acked >= seq && !p.origin.empty()) ids.insert(replica_id_of(p.origin));
  ids.erase(own_);
  return static_cast<std::uint32_t>(1 + ids.size());
}

bool quorum::held(const pending_write& w, const peer_table& peers, replica_count& count) const {
  count = {holding(w.seq, peers), group_size()};
  return count.acks >= replicas_needed(w.level.level, count.replicas);
}

std::optional<replica_count> quorum::await_write(request_id id, std::uint64_t seq, const consistency& level,
                                                 const peer_table& peers, effects& out) {
  pending_write w{seq, level};
  replica_count count;
  if (held(w, peers, count)) return count;
  writes_.emplace(id, w);
  out.timers.push_back({timer_kind::write_deadline, timestamp(level.timeout_ms), id});
  return std::nullopt;
}

void quorum::writes_held(const peer_table& peers, effects& out) {
  for (auto it = writes_.begin(); it != writes_.end();) {
    replica_count count;
    if (!held(it->second, peers, count)) {
      ++it;
      continue;
    }
    out.replies.push_back({it->first, {}, count, nullptr});
    it = writes_.erase(it);
  }
}

void quorum::write_deadline(request_id id, const peer_table& peers, effects& out) {
  auto it = writes_.find(id);
  if (it == writes_.end()) return;
  auto& w = it->second;
  auto acks = holding(w.seq, peers);
  out.replies.push_back({id,
                         too_few_replicas("write", w.level, acks, group_size(), "merged it",
                                          "; it stays applied here and reaches the others when they are back"),
                         {acks, group_size()},
                         nullptr,
                         replicas_needed(w.level.level, group_size())});
  writes_.erase(it);
}

void quorum::await_read(request_id id, const consistency& level, timestamp timeout, effects& out) {
  reads_.emplace(id, pending_read{level, {}});
  out.timers.push_back({timer_kind::read_deadline, timeout, id});
}

void quorum::read_answered(request_id id, const std::string& replica_id,
                           const std::function<std::shared_ptr<const bytes>()>& state, effects& out) {
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  auto& r = it->second;
  r.answered.insert(replica_id);
  r.answered.erase(own_);
  auto n = group_size();
  auto acks = static_cast<std::uint32_t>(1 + r.answered.size());
  if (acks < replicas_needed(r.level.level, n)) return;
  out.replies.push_back({id, {}, replica_count{acks, n}, state()});
  reads_.erase(it);
}

void quorum::read_deadline(request_id id, effects& out) {
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  auto& r = it->second;
  auto answered = static_cast<std::uint32_t>(1 + r.answered.size());
  out.replies.push_back({id,
                         too_few_replicas("read", r.level, answered, group_size(), "answered"),
                         {answered, group_size()},
                         nullptr,
                         replicas_needed(r.level.level, group_size())});
  reads_.erase(it);
}

void quorum::fail_all(const error& e, effects& out) {
  for (auto& [id, w] : writes_) out.replies.push_back({id, e, {}, nullptr});
  for (auto& [id, r] : reads_) out.replies.push_back({id, e, {}, nullptr});
  writes_.clear();
  reads_.clear();
}

}  // namespace grove::actors::replica
