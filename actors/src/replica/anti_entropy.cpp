#include "anti_entropy.hpp"

#include <algorithm>
#include <map>

namespace grove::actors::replica {

void anti_entropy::arm(bool has_peers, const input_time& now, effects& out) {
  if (armed_ || !has_peers) return;
  armed_ = true;
  out.timers.push_back({timer_kind::digest, interval_ - now.value() % interval_, 0});
}

bool anti_entropy::round_done(bool unsettled) {
  quiet_rounds_ = changed_since_round_ ? 0 : quiet_rounds_ + 1;
  changed_since_round_ = false;
  return quiet_rounds_ < quiet_digest_rounds || unsettled;
}

std::vector<std::size_t> anti_entropy::partners(std::size_t peers, std::size_t self_rank, std::uint64_t round,
                                                std::size_t fanout) {
  std::vector<std::size_t> out;
  if (peers == 0) return out;
  auto count = std::min(fanout, peers);
  auto first = (self_rank + round % peers * count) % peers;
  for (std::size_t i = 0; i < count; ++i) out.push_back((first + i) % peers);
  return out;
}

anti_entropy::verdict anti_entropy::compare(const digest_message& d, const std::string& self, std::uint64_t own_seq,
                                            const delta_stream& stream, const std::vector<std::string>& members,
                                            bool change_pending, const std::function<std::uint64_t()>& checksum) {
  std::map<std::string, std::uint64_t> theirs;
  for (const auto& m : d.merged) theirs[m.origin] = m.seq;
  auto merged_here = [&](const std::string& origin) { return origin == self ? own_seq : stream.merged(origin); };
  verdict v;
  v.holds_own = theirs[self];
  if (theirs[self] < own_seq) v.resend_from = theirs[self] + 1;
  if (theirs[d.from] > merged_here(d.from)) v.ask_from = merged_here(d.from) + 1;
  bool same_deltas = theirs[d.from] == merged_here(d.from) && theirs[self] == own_seq;
  for (const auto& origin : members) same_deltas = same_deltas && theirs[origin] == merged_here(origin);
  bool comparable = same_deltas && !change_pending && d.digest != no_checksum;
  auto same_state = comparable && d.digest == checksum();
  v.exchange_states = comparable && !same_state;
  v.in_sync = same_state;
  return v;
}

}  // namespace grove::actors::replica
