#include <algorithm>

#include "grove/crdt/gcounter.hpp"

namespace grove::crdt {

status gcounter::increment(std::uint64_t n) {
  if (n == 0) return {};
  if (n > UINT64_MAX - value())
    return error(errc::too_large, "adding " + std::to_string(n) + " to " + std::to_string(value())
                                    + " would pass the counter's limit of 2^64-1");
  auto& mine = counts_[owner_];
  mine += n;  // cannot wrap: mine <= value()
  delta_[owner_] = mine;
  return {};
}

std::uint64_t gcounter::value() const {
  std::uint64_t sum = 0;
  for (const auto& [actor, count] : counts_) sum = count > UINT64_MAX - sum ? UINT64_MAX : sum + count;
  return sum;
}

std::uint64_t gcounter::get(const replica_id& actor) const {
  auto it = counts_.find(actor);
  return it == counts_.end() ? 0 : it->second;
}

void gcounter::merge(const gcounter& other) {
  auto hint = counts_.begin();
  for (const auto& [actor, count] : other.counts_) {
    hint = counts_.try_emplace(hint, actor, 0);
    hint->second = std::max(hint->second, count);
    ++hint;
  }
}

gcounter gcounter::delta() const {
  gcounter d(owner_);
  d.counts_ = delta_;
  return d;
}

void gcounter::write_state(byte_writer& w) const {
  w.varint(counts_.size());
  for (const auto& [actor, count] : counts_) {
    w.str(actor);
    w.varint(count);
  }
}

bool gcounter::read_state(byte_reader& r) {
  counts_.clear();
  std::uint64_t n = 0;
  if (!r.count(n, 2)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    replica_id actor;
    std::uint64_t count = 0;
    if (!r.str(actor) || !r.varint(count)) return false;
    if (count == 0) return r.fail("a zero count");
    if (!counts_.empty() && !(counts_.rbegin()->first < actor)) return r.fail("replica ids are not in ascending order");
    counts_.emplace_hint(counts_.end(), std::move(actor), count);
  }
  return true;
}

std::int64_t pncounter::value() const {
  auto difference = static_cast<__int128>(positive_.value()) - static_cast<__int128>(negative_.value());
  return static_cast<std::int64_t>(std::clamp<__int128>(difference, min_value, max_value));
}

status pncounter::increment(std::uint64_t n) {
  if (static_cast<__int128>(value()) + n > max_value)
    return error(errc::too_large, "adding " + std::to_string(n) + " to " + std::to_string(value())
                                    + " would pass the pncounter's limit of 2^63-1");
  return positive_.increment(n);
}

status pncounter::decrement(std::uint64_t n) {
  if (static_cast<__int128>(value()) - n < min_value)
    return error(errc::too_large, "subtracting " + std::to_string(n) + " from " + std::to_string(value())
                                    + " would pass the pncounter's limit of -(2^63-1)");
  return negative_.increment(n);
}

pncounter pncounter::delta() const {
  pncounter d(owner());
  d.positive_ = positive_.delta();
  d.negative_ = negative_.delta();
  return d;
}

}  // namespace grove::crdt
