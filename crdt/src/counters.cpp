#include <algorithm>

#include "grove/crdt/gcounter.hpp"

namespace grove::crdt {

void gcounter::increment(std::uint64_t n) {
  if (n == 0) return;
  auto& mine = counts_[owner_];
  mine += n;
  delta_[owner_] = mine;
}

std::uint64_t gcounter::value() const {
  std::uint64_t sum = 0;
  for (const auto& [actor, count] : counts_) sum += count;
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
    if (!counts_.empty() && !(counts_.rbegin()->first < actor))
      return r.fail("replica ids are not in ascending order");
    counts_.emplace_hint(counts_.end(), std::move(actor), count);
  }
  return true;
}

pncounter pncounter::delta() const {
  pncounter d(owner());
  d.positive_ = positive_.delta();
  d.negative_ = negative_.delta();
  return d;
}

}  // namespace grove::crdt
