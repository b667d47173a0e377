#include "transfers.hpp"

#include <algorithm>

namespace grove::actors::replica {

namespace {

// Reads a transfer may name: a reader waits for at most a few at once per peer.
constexpr std::size_t max_reads_per_chunk = 1024;

}  // namespace

void transfers::send_state(peer_id peer, std::optional<std::uint64_t> read, bool asked, const source_fn& source,
                           effects& out, replica_stats& stats) {
  auto& to = sending_[peer];
  std::vector<std::uint64_t> reads;
  if (read) reads.push_back(*read);
  if (to.running && asked && to.running->acked == 0) {
    reads.insert(reads.end(), to.running->reads.begin(), to.running->reads.end());
    to.running.reset();
  }
  if (!to.running) return start(peer, to, std::move(reads), source, out, stats);
  to.again = true;
  to.reads_again.insert(to.reads_again.end(), reads.begin(), reads.end());
}

void transfers::start(peer_id peer, to_peer& to, std::vector<std::uint64_t> reads, const source_fn& source,
                      effects& out, replica_stats& stats) {
  auto s = source();
  outgoing t;
  t.encoded = std::move(s.encoded);
  t.seq = s.seq;
  t.merged = std::move(s.merged);
  t.transfer = ++next_transfer_;
  t.count = static_cast<std::uint32_t>(
    std::max<std::size_t>(1, (t.encoded->size() + max_message_bytes_ - 1) / max_message_bytes_));
  t.reads = std::move(reads);
  t.acked_chunks.assign(t.count, false);
  to.running = std::move(t);
  ++stats.states_sent;
  send_chunks(peer, *to.running, out, stats);
}

void transfers::send_chunks(peer_id peer, outgoing& t, effects& out, replica_stats& stats) {
  while (t.next < t.count && t.next - t.acked < max_chunks_in_flight) {
    auto i = t.next++;
    auto piece = t.encoded->substr(std::size_t{i} * max_message_bytes_, max_message_bytes_);
    state_chunk c{id_.group, id_.self, t.seq, t.transfer, i, t.count, std::move(piece), {}, {}};
    if (i == 0) {
      c.merged = t.merged;
      c.reads = t.reads;
    }
    out.sends.push_back({peer, std::move(c)});
  }
  stats.chunks_in_flight_peak = std::max<std::uint64_t>(stats.chunks_in_flight_peak, t.next - t.acked);
}

void transfers::on_ack(peer_id peer, const chunk_ack& ack, const source_fn& source, effects& out,
                       replica_stats& stats) {
  auto it = sending_.find(peer);
  if (it == sending_.end() || !it->second.running || it->second.running->transfer != ack.transfer) return;
  auto& to = it->second;
  auto& t = *to.running;
  // Only a chunk that was sent counts, and each once (a duplicated acknowledgement must not open
  // the window or end the transfer early).
  if (ack.index >= t.next || t.acked_chunks[ack.index]) return;
  t.acked_chunks[ack.index] = true;
  ++t.acked;
  if (t.acked < t.count) return send_chunks(peer, t, out, stats);
  to.running.reset();
  if (to.again) {
    to.again = false;
    start(peer, to, std::exchange(to.reads_again, {}), source, out, stats);
  } else {
    sending_.erase(it);
  }
}

void transfers::restart_stalled(const source_fn& source, effects& out, replica_stats& stats) {
  for (auto& [peer, to] : sending_) {
    if (!to.running) continue;
    auto& t = *to.running;
    if (t.acked != t.acked_at_check) {
      t.acked_at_check = t.acked;
      continue;
    }
    // Nothing moved: start over (the state as it is now also serves what was queued behind).
    auto reads = std::move(t.reads);
    reads.insert(reads.end(), to.reads_again.begin(), to.reads_again.end());
    to.reads_again.clear();
    to.again = false;
    start(peer, to, std::move(reads), source, out, stats);
  }
}

std::size_t transfers::open_from(peer_id peer) const {
  std::size_t n = 0;
  for (auto it = incoming_.lower_bound({peer, 0}); it != incoming_.end() && it->first.first == peer; ++it) ++n;
  return n;
}

transfers::received transfers::receive(peer_id peer, state_chunk& c, effects& out) {
  received r;
  auto max_chunks = max_state_bytes / max_message_bytes_ + 1;
  if (c.count == 0 || c.index >= c.count || c.count > max_chunks || c.data.size() > max_message_bytes_
      || c.merged.size() > max_summary_origins) {
    r.what = received::kind::malformed;
    r.why = "malformed state chunk";
    return r;
  }
  auto key = std::make_pair(peer, c.transfer);
  auto it = incoming_.find(key);
  if (it == incoming_.end()) {
    // A sender runs one transfer to us at a time and queues one more: a third means it gave up on
    // the oldest, which goes.
    if (open_from(peer) >= max_transfers_per_peer) {
      auto oldest = incoming_.lower_bound({peer, 0});
      incoming_bytes_ -= oldest->second.size;
      incoming_.erase(oldest);
    }
    if (incoming_.size() >= max_open_transfers) {
      r.what = received::kind::refused;
      r.why = std::to_string(max_open_transfers) + " state transfers are being assembled already";
      return r;
    }
    it = incoming_.emplace(key, incoming{}).first;
    it->second.parts.resize(c.count);
    it->second.seq = c.seq;
  }
  auto& t = it->second;
  if (t.parts.size() != c.count) {
    incoming_bytes_ -= t.size;
    incoming_.erase(it);
    r.what = received::kind::malformed;
    r.why = "inconsistent state transfer";
    return r;
  }
  if (incoming_bytes_ + c.data.size() > max_state_bytes) {
    r.what = received::kind::refused;
    r.why = "state transfers being assembled would pass " + std::to_string(max_state_bytes) + " bytes";
    return r;
  }
  if (c.index == 0) {
    t.merged = std::move(c.merged);
    t.reads = std::move(c.reads);
  }
  auto& part = t.parts[c.index];
  if (part.empty() && !c.data.empty()) ++t.received;
  t.size += c.data.size();
  t.size -= part.size();
  incoming_bytes_ += c.data.size();
  incoming_bytes_ -= part.size();
  part = std::move(c.data);
  out.sends.push_back({peer, chunk_ack{id_.group, c.transfer, c.index}});
  if (t.received < c.count) return r;
  r.what = received::kind::complete;
  r.state.reserve(t.size);
  for (auto& p : t.parts) r.state += p;
  r.seq = t.seq;
  r.merged = std::move(t.merged);
  r.reads = std::move(t.reads);
  incoming_bytes_ -= t.size;
  incoming_.erase(it);
  return r;
}

void transfers::forget(peer_id peer) {
  sending_.erase(peer);
  for (auto it = incoming_.lower_bound({peer, 0}); it != incoming_.end() && it->first.first == peer;) {
    incoming_bytes_ -= it->second.size;
    it = incoming_.erase(it);
  }
}

}  // namespace grove::actors::replica
