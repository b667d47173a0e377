#include "delta_stream.hpp"

namespace grove::actors::replica {

std::uint64_t delta_stream::append(const bytes& delta) {
  ++seq_;
  recent_.emplace_back(seq_, delta);
  recent_bytes_ += delta.size();
  while (recent_.size() > max_recent_deltas || recent_bytes_ > recent_bytes_per_message_size * max_message_bytes_) {
    recent_bytes_ -= recent_.front().second.size();
    recent_.pop_front();
  }
  return seq_;
}

std::uint64_t delta_stream::append_unkept() {
  recent_.clear();
  recent_bytes_ = 0;
  return ++seq_;
}

std::optional<std::vector<std::pair<std::uint64_t, const bytes*>>> delta_stream::since(std::uint64_t first) const {
  std::vector<std::pair<std::uint64_t, const bytes*>> out;
  if (first > seq_) return out;
  if (recent_.empty() || recent_.front().first > first) return std::nullopt;
  for (const auto& [seq, delta] : recent_)
    if (seq >= first) out.emplace_back(seq, &delta);
  return out;
}

delta_stream::arrival delta_stream::track(const std::string& origin, std::uint64_t seq) {
  auto& merged = merged_[origin];
  if (seq <= merged) return arrival::duplicate;
  if (seq == merged + 1) {
    merged = seq;
    awaiting_.erase(origin);
    return arrival::next;
  }
  return arrival::gap;
}

std::uint64_t delta_stream::merged(const std::string& origin) const {
  auto it = merged_.find(origin);
  return it == merged_.end() ? 0 : it->second;
}

void delta_stream::merged_at_least(const std::string& origin, std::uint64_t seq) {
  auto& merged = merged_[origin];
  merged = std::max(merged, seq);
}

void delta_stream::forget(const std::string& origin) {
  merged_.erase(origin);
  awaiting_.erase(origin);
}

}  // namespace grove::actors::replica
