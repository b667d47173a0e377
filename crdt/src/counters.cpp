#include <algorithm>

#include "grove/crdt/gcounter.hpp"

#include "count_map.hpp"
#include "grove/crdt/escape.hpp"

namespace grove::crdt {

namespace {

std::uint64_t find_or_zero(const std::map<replica_id, std::uint64_t>& counts, const replica_id& actor) {
  auto it = counts.find(actor);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

status gcounter::check_not_retired() const {
  // Most counters retired nobody: skip the lookup (it interns the owner's name, under a lock).
  if (!retired_.empty() && retired_.contains(owner_))
    return error(errc::closed, "replica " + quote_input(owner_)
                                 + " was retired (its count was folded into another's): it must not count again");
  return {};
}

status gcounter::check_increment(std::uint64_t n, std::uint64_t own_count) const {
  if (auto ok = check_not_retired(); !ok) return ok;
  if (n > UINT64_MAX - value())
    return error(errc::too_large, "adding " + std::to_string(n) + " to " + std::to_string(value())
                                    + " would pass the counter's limit of 2^64-1");
  // A replica's own count also holds what resets took away from it, so it can be the larger.
  if (n > UINT64_MAX - own_count)
    return error(errc::too_large, "adding " + std::to_string(n) + " would pass the limit of 2^64-1 of replica " + owner_
                                    + "'s count (resets included)");
  return {};
}

status gcounter::check_increment(std::uint64_t n) const { return check_increment(n, find_or_zero(counts_, owner_)); }

status gcounter::increment(std::uint64_t n) {
  if (n == 0) return {};
  // One search of counts_ for the owner's slot: the checks read it, the increment writes it.
  auto mine = counts_.lower_bound(owner_);
  bool present = mine != counts_.end() && mine->first == owner_;
  if (auto ok = check_increment(n, present ? mine->second : 0); !ok) return ok;
  if (!present) mine = counts_.emplace_hint(mine, owner_, 0);
  mine->second += n;
  delta_counts_[owner_] = mine->second;
  return {};
}

std::uint64_t gcounter::value() const {
  std::uint64_t sum = 0;
  for (const auto& [actor, count] : counts_) {
    std::uint64_t own = cleared_.empty() ? count : count - find_or_zero(cleared_, actor);  // cleared_ <= counts_
    sum = own > UINT64_MAX - sum ? UINT64_MAX : sum + own;
  }
  return sum;
}

std::uint64_t gcounter::get(const replica_id& actor) const {
  return find_or_zero(counts_, actor) - find_or_zero(cleared_, actor);
}

void gcounter::clear() {
  for (const auto& [actor, count] : counts_) {
    auto& taken = cleared_[actor];
    if (taken == count) continue;
    taken = count;
    delta_counts_[actor] = count;
    delta_cleared_[actor] = count;
  }
}

void gcounter::merge_max(count_map& into, const count_map& from) {
  auto hint = into.begin();
  for (const auto& [actor, count] : from) {
    hint = into.try_emplace(hint, actor, 0);
    hint->second = std::max(hint->second, count);
    ++hint;
  }
}

void gcounter::merge(const gcounter& other) {
  merge_max(counts_, other.counts_);
  merge_max(cleared_, other.cleared_);
  if (other.retired_.empty() && retired_.empty()) return;
  retired_.join(other.retired_);
  drop_retired_slots();
}

void gcounter::drop_retired_slots() {
  for (const auto& [actor, marker] : retired_.markers()) {
    counts_.erase(actor.str());
    cleared_.erase(actor.str());
  }
}

gcounter gcounter::delta() const {
  gcounter d(owner_);
  d.counts_ = delta_counts_;
  d.cleared_ = delta_cleared_;
  d.retired_ = delta_retired_;
  return d;
}

std::vector<replica_id> gcounter::origins() const {
  std::vector<replica_id> out;
  for (const auto& [actor, count] : counts_) out.push_back(actor);  // cleared_ names no other
  return out;
}

bool gcounter::write_origin_projection(byte_writer& w, const replica_id& r) const {
  if (counts_.count(r) == 0 && !retired_.contains(r)) return false;
  w.varint(find_or_zero(counts_, r));
  w.varint(find_or_zero(cleared_, r));
  retired_.write_projection(w, r);
  return true;
}

status gcounter::can_retire(const replica_id& r) const {
  if (auto ok = check_not_owner(owner_, r); !ok) return ok;
  if (auto ok = check_not_retired(); !ok) return ok;
  std::uint64_t own = get(r);
  if (own > UINT64_MAX - find_or_zero(counts_, owner_))
    return error(errc::too_large, "cannot retire " + quote_input(r) + ": its count of " + std::to_string(own)
                                    + " would take this replica's count past 2^64-1");
  return {};
}

status gcounter::retire(const replica_id& r, std::uint64_t expires_at_ms) {
  if (auto ok = can_retire(r); !ok) return ok;
  if (std::uint64_t own = get(r); own > 0) {
    auto& mine = counts_[owner_];
    mine += own;
    delta_counts_[owner_] = mine;
  }
  retired_marker marker{find_or_zero(counts_, r), {}, expires_at_ms};
  retired_.add(r, marker);
  delta_retired_.add(r, marker);
  drop_retired_slots();
  delta_counts_.erase(r);
  delta_cleared_.erase(r);
  return {};
}

// Version 1: the counts. Version 2: the counts, what resets took away of them, the retired
// markers.
void gcounter::write_state(byte_writer& w) const {
  detail::write_counts(w, counts_);
  detail::write_counts(w, cleared_);
  retired_.write(w);
}

bool gcounter::read_state(byte_reader& r) {
  cleared_.clear();
  retired_.clear();
  if (!detail::read_counts(r, counts_, "a gcounter")) return false;
  if (r.version() < 2) return true;
  if (!detail::read_counts(r, cleared_, "a gcounter's reset counts") || !retired_.read(r)) return false;
  for (const auto& [actor, taken] : cleared_)
    if (taken > find_or_zero(counts_, actor)) return r.fail("a reset took away more than a replica counted");
  for (const auto& [actor, marker] : retired_.markers())
    if (counts_.count(actor.str()) > 0) return r.fail("a count of a retired replica");
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

status pncounter::absorb(const pncounter& other) {
  std::uint64_t up = other.positive_total(), down = other.negative_total();
  auto result = static_cast<__int128>(value()) + up - down;
  if (result > max_value || result < min_value)
    return error(errc::too_large, "adding " + std::to_string(other.value()) + " to " + std::to_string(value())
                                    + " would leave the pncounter's range of +-(2^63-1)");
  if (auto ok = positive_.check_increment(up); !ok) return ok;
  if (auto ok = negative_.check_increment(down); !ok) return ok;
  (void)positive_.increment(up);
  (void)negative_.increment(down);
  return {};
}

std::vector<replica_id> pncounter::origins() const {
  auto out = positive_.origins();
  auto more = negative_.origins();
  out.insert(out.end(), more.begin(), more.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool pncounter::write_origin_projection(byte_writer& w, const replica_id& r) const {
  bytes positive, negative;
  bool any = false;
  {
    byte_writer pw(positive), nw(negative);
    any = positive_.write_origin_projection(pw, r);
    any = negative_.write_origin_projection(nw, r) || any;
  }
  if (!any) return false;
  w.str(positive);
  w.str(negative);
  return true;
}

status pncounter::can_retire(const replica_id& r) const {
  if (auto ok = positive_.can_retire(r); !ok) return ok;
  return negative_.can_retire(r);
}

status pncounter::retire(const replica_id& r, std::uint64_t expires_at_ms) {
  if (auto ok = can_retire(r); !ok) return ok;
  (void)positive_.retire(r, expires_at_ms);
  (void)negative_.retire(r, expires_at_ms);
  return {};
}

pncounter pncounter::delta() const {
  pncounter d(owner());
  d.positive_ = positive_.delta();
  d.negative_ = negative_.delta();
  return d;
}

}  // namespace grove::crdt
