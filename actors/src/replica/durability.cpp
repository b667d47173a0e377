#include "durability.hpp"

#include <algorithm>

namespace grove::actors::replica {

void durability::queue(pending_ack ack, effects& out) {
  unlogged_.push_back(std::move(ack));
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  out.timers.push_back({timer_kind::log_flush, timestamp(0), 0});
}

std::vector<pending_ack> durability::take_unlogged() {
  flush_scheduled_ = false;
  return std::exchange(unlogged_, {});
}

std::pair<std::uint64_t, std::vector<storage::write_op>> durability::begin_append(const storage::group_key& group,
                                                                                  bytes delta,
                                                                                  std::vector<pending_ack> acks) {
  auto seq = ++log_seq_;
  log_bytes_ += delta.size();
  std::vector<storage::write_op> ops{storage::write_op::append(group, seq, delta)};
  appends_.emplace(seq, finished_append{std::move(delta), std::move(acks)});
  return {seq, std::move(ops)};
}

bool durability::join_running_append(std::vector<pending_ack>& acks) {
  // The newest append: the one the latest mutations went into.
  auto it = appends_.empty() ? appends_.end() : std::prev(appends_.end());
  if (it == appends_.end() || it->first != log_seq_) return false;
  for (auto& a : acks) it->second.acks.push_back(std::move(a));
  acks.clear();
  return true;
}

std::optional<durability::finished_append> durability::end_append(std::uint64_t seq) {
  auto it = appends_.find(seq);
  if (it == appends_.end()) return std::nullopt;
  auto done = std::move(it->second);
  appends_.erase(it);
  return done;
}

bool durability::compaction_due() const {
  return !snapshot_running_ && log_bytes_ > std::max(max_log_bytes_, snapshot_bytes_);
}

std::vector<storage::write_op> durability::snapshot_ops(const storage::group_key& group, bytes state) const {
  std::vector<storage::write_op> ops;
  ops.push_back(storage::write_op::save(group, std::move(state)));
  if (log_seq_ > 0) ops.push_back(storage::write_op::truncate(group, log_seq_));
  return ops;
}

std::vector<storage::write_op> durability::begin_snapshot(const storage::group_key& group, bytes state) {
  changed_since_snapshot_ = false;
  snapshot_running_ = true;
  snapshot_bytes_ = state.size();
  covered_log_bytes_ = std::exchange(log_bytes_, 0);
  return snapshot_ops(group, std::move(state));
}

void durability::end_snapshot(const status& outcome) {
  snapshot_running_ = false;
  if (outcome) return;
  changed_since_snapshot_ = true;    // the next snapshot tries again
  log_bytes_ += covered_log_bytes_;  // the log was not dropped
}

void durability::restored(std::size_t snapshot_bytes, const std::vector<storage::log_entry>& log) {
  snapshot_bytes_ = snapshot_bytes;
  for (const auto& entry : log) {
    log_seq_ = std::max(log_seq_, entry.seq);  // numbers are never reused, damaged or not
    log_bytes_ += entry.delta.size();
  }
  changed_since_snapshot_ = false;
}

}  // namespace grove::actors::replica
