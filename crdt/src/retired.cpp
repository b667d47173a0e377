#include "grove/crdt/retired.hpp"

#include <algorithm>

#include "grove/crdt/escape.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace grove::crdt {

bool retired_marker::covers(std::uint64_t counter) const {
  return counter <= top || std::binary_search(cloud.begin(), cloud.end(), counter);
}

void retired_marker::join(const retired_marker& other) {
  top = std::max(top, other.top);
  std::vector<std::uint64_t> seen;
  std::set_union(cloud.begin(), cloud.end(), other.cloud.begin(), other.cloud.end(), std::back_inserter(seen));
  cloud.clear();
  for (auto counter : seen) {
    if (counter <= top + 1)
      top = std::max(top, counter);  // contiguous with the range now
    else
      cloud.push_back(counter);
  }
  expires_at_ms = std::max(expires_at_ms, other.expires_at_ms);
}

const retired_marker* retired_origins::find(const replica_ref& actor) const {
  auto it = markers_.find(actor);
  return it == markers_.end() ? nullptr : &it->second;
}

void retired_origins::add(const replica_ref& actor, const retired_marker& marker) {
  auto [it, added] = markers_.emplace(actor, marker);
  if (!added) it->second.join(marker);
}

void retired_origins::join(const retired_origins& other) {
  for (const auto& [actor, marker] : other.markers_) add(actor, marker);
}

void retired_origins::expire(std::uint64_t now_ms) {
  for (auto it = markers_.begin(); it != markers_.end();)
    it = it->second.expires_at_ms <= now_ms ? markers_.erase(it) : std::next(it);
}

namespace {

void write_marker(byte_writer& w, const retired_marker& marker) {
  w.varint(marker.top);
  w.varint(marker.cloud.size());
  for (auto counter : marker.cloud) w.varint(counter);
  w.varint(marker.expires_at_ms);
}

}  // namespace

void retired_origins::write(byte_writer& w) const {
  w.varint(markers_.size());
  for (const auto& [actor, marker] : markers_) {
    w.str(actor.str());
    write_marker(w, marker);
  }
}

bool retired_origins::read(byte_reader& r) {
  markers_.clear();
  std::uint64_t n = 0;
  if (!r.count(n, 4)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name;
    retired_marker marker;
    std::uint64_t cloud_size = 0;
    if (!r.str(name) || !r.varint(marker.top) || !r.count(cloud_size)) return false;
    marker.cloud.reserve(static_cast<std::size_t>(cloud_size));
    for (std::uint64_t j = 0; j < cloud_size; ++j) {
      std::uint64_t counter = 0;
      if (!r.varint(counter)) return false;
      if (counter <= (marker.cloud.empty() ? marker.top + 1 : marker.cloud.back()))
        return r.fail("a retired marker's counters are not ascending above its range");
      marker.cloud.push_back(counter);
    }
    if (!r.varint(marker.expires_at_ms)) return false;
    if (!markers_.empty() && !(markers_.rbegin()->first.str() < name))
      return r.fail("retired markers are not in ascending order");
    markers_.emplace_hint(markers_.end(), replica_ref(name), std::move(marker));
  }
  return true;
}

void retired_origins::write_projection(byte_writer& w, const replica_ref& actor) const {
  const auto* marker = find(actor);
  w.u8(marker ? 1 : 0);
  if (marker) write_marker(w, *marker);
}

std::uint64_t projection_digest(bytes_view projection) { return XXH3_64bits(projection.data(), projection.size()); }

status check_not_owner(const replica_id& owner, const replica_id& retired) {
  if (retired == owner)
    return error(errc::invalid_argument, "cannot retire " + quote_input(retired) + ": it is this replica's own id");
  return {};
}

std::vector<replica_id> unretired_names(const std::vector<replica_ref>& actors, const retired_origins& retired) {
  std::vector<replica_id> out;
  for (const auto& actor : actors)
    if (!retired.contains(actor)) out.push_back(actor.str());
  return out;
}

}  // namespace grove::crdt
