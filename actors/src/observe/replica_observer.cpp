#include "observe/replica_observer.hpp"

#include <limits>

#include <caf/send.hpp>

namespace grove::actors::detail {

std::unique_ptr<replica_observer> replica_observer::make(std::shared_ptr<node_metrics> metrics, caf::actor events,
                                                         std::string group) {
  if (!metrics && !events) return nullptr;
  return std::make_unique<replica_observer>(std::move(metrics), std::move(events), std::move(group));
}

replica_observer::replica_observer(std::shared_ptr<node_metrics> metrics, caf::actor events, std::string group)
    : metrics_(std::move(metrics)), events_(std::move(events)), group_(std::move(group)) {
  if (metrics_) add(metrics_->groups_hosted);
}

replica_observer::~replica_observer() {
  if (!metrics_) return;
  add(metrics_->groups_hosted, -1);
  log_changed(-static_cast<std::int64_t>(log_.size()), -static_cast<std::int64_t>(log_bytes_));
}

void replica_observer::operation(node_metrics::operation op, consistency_level level, std::uint64_t n) {
  if (metrics_) metrics_->count_operation(op, level, n);
}

void replica_observer::failed(node_metrics::operation op, const error& e) {
  if (metrics_ && e.code() == errc::unavailable) metrics_->count_ack_timeout(op);
}

void replica_observer::refused() {
  if (metrics_) add(metrics_->replica_messages_refused);
}

void replica_observer::sent(const replica::peer_message& m) {
  if (auto* d = std::get_if<delta_message>(&m)) {
    if (!metrics_) return;
    add(metrics_->deltas_sent);
    add(metrics_->delta_bytes_sent, d->delta.size());
  } else if (auto* c = std::get_if<state_chunk>(&m)) {
    if (metrics_) {
      add(metrics_->state_bytes_sent, c->data.size());
      if (c->index == 0) add(metrics_->transfers_sent);
    }
    chunk_progress(*c, "sending");
  } else if (std::holds_alternative<digest_message>(m)) {
    if (metrics_) add(metrics_->digests_sent);
  }
}

void replica_observer::relayed(const digest_message&, std::size_t nodes) {
  if (metrics_) add(metrics_->digests_sent, nodes);
}

void replica_observer::received(const delta_message& m) {
  if (!metrics_) return;
  add(metrics_->deltas_received);
  add(metrics_->delta_bytes_received, m.delta.size());
}

void replica_observer::received(const state_chunk& m) {
  if (metrics_) {
    add(metrics_->state_bytes_received, m.data.size());
    if (m.index == 0) add(metrics_->transfers_received);
  }
  chunk_progress(m, "receiving");
}

void replica_observer::received(const digest_message&) {
  if (metrics_) add(metrics_->digests_received);
}

void replica_observer::timer_fired(replica::timer_kind kind, const replica::effects& out) {
  if (!metrics_ || kind != replica::timer_kind::digest) return;
  bool digests = !out.relays.empty();
  for (const auto& s : out.sends) digests = digests || std::holds_alternative<digest_message>(s.message);
  if (digests) add(metrics_->antientropy_rounds);
}

// At the first chunk, whenever another tenth of the chunks has passed, and at the last one.
void replica_observer::chunk_progress(const state_chunk& m, const char* direction) {
  if (!events_ || m.count < progress_min_chunks || m.index >= m.count) return;
  std::uint64_t done = std::uint64_t{m.index} + 1;
  bool next_tenth = done * 10 / m.count != std::uint64_t{m.index} * 10 / m.count;
  if (m.index != 0 && !next_tenth && done != m.count) return;
  caf::anon_send(events_, node_event{node_event::kind::progress, group_, direction, done, m.count, "chunks"});
}

void replica_observer::storage_requested(const replica::storage_request& r) {
  using kind = replica::storage_request::kind;
  if (!metrics_ || !r.expects_answer) return;
  if (r.what == kind::load && r.key.to_string() == group_) group_loads_.insert(r.id);
  if (r.what != kind::write) return;
  pending_write w;
  w.sent = std::chrono::steady_clock::now();
  for (const auto& op : r.ops) {
    if (op.key.to_string() != group_) continue;  // the incarnation marker, the replica ids
    if (op.what == storage::write_op::kind::save)
      w.snapshot = true;
    else
      w.changes.push_back({op.what, op.seq, op.value.size()});
  }
  writes_.emplace(r.id, std::move(w));
}

void replica_observer::storage_done(std::uint64_t id, const replica::storage_result& r) {
  if (!metrics_) return;
  if (group_loads_.erase(id) > 0) {
    if (!r.outcome) return;
    pending_write loaded;
    for (const auto& e : r.log) loaded.changes.push_back({storage::write_op::kind::append, e.seq, e.delta.size()});
    apply(loaded);
    return;
  }
  auto it = writes_.find(id);
  if (it == writes_.end()) return;
  auto w = std::move(it->second);
  writes_.erase(it);
  if (!r.outcome) return;
  if (w.snapshot) metrics_->snapshot_duration.observe(std::chrono::steady_clock::now() - w.sent);
  apply(w);
}

// What a committed write did to this group's log, in order: an append adds (or replaces) an
// entry, a truncation drops the entries it covers, an erase drops them all.
void replica_observer::apply(const pending_write& w) {
  std::int64_t entries = 0, bytes = 0;
  auto drop_through = [&](std::uint64_t through) {
    for (auto it = log_.begin(); it != log_.end() && it->first <= through; it = log_.erase(it)) {
      --entries;
      bytes -= static_cast<std::int64_t>(it->second);
    }
  };
  for (const auto& c : w.changes) {
    if (c.what == storage::write_op::kind::erase) {
      drop_through(std::numeric_limits<std::uint64_t>::max());
    } else if (c.what == storage::write_op::kind::truncate) {
      drop_through(c.seq);
    } else {
      auto [it, fresh] = log_.emplace(c.seq, c.bytes);
      if (!fresh) bytes -= static_cast<std::int64_t>(it->second);
      it->second = c.bytes;
      entries += fresh ? 1 : 0;
      bytes += static_cast<std::int64_t>(c.bytes);
    }
  }
  log_changed(entries, bytes);
}

void replica_observer::log_changed(std::int64_t entries, std::int64_t bytes) {
  log_bytes_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(log_bytes_) + bytes);
  add(metrics_->delta_log_entries, entries);
  add(metrics_->delta_log_bytes, bytes);
}

}  // namespace grove::actors::detail
