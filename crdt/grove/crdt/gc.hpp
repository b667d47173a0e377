// Structural garbage collection (Grove.GC.Structural): drops entries that no live dot keeps,
// needs no coordination between replicas, and is always safe to run.
//
// On orset/dvv_set a removed element leaves nothing behind (the kernel erases it at once), so a
// collection finds nothing to remove; the stats still report what remains. An ormap keeps, for an
// erased key, its reset value: no contents, only the metadata that says what was seen of it (see
// ormap.hpp). info() counts those as empty entries, and there is no collect() for ormap: dropping
// that metadata on one replica would let a stale copy of the value, merged later, bring erased
// contents back.
#pragma once

#include <cstddef>

#include "grove/crdt/ormap.hpp"
#include "grove/crdt/orset.hpp"

namespace grove::crdt {

struct gc_stats {
  std::size_t removed_entries = 0;
  std::size_t remaining_entries = 0;
};

/// What a collection would find: entries, entries with no live dot, dots held by live entries.
struct gc_info {
  std::size_t entry_count = 0;
  std::size_t empty_entries = 0;
  std::size_t total_dots = 0;
};

template <class E>
gc_info info(const basic_dot_set<E>& set) {
  gc_info out;
  for (const auto& [element, dots] : set.kernel().entries()) {
    ++out.entry_count;
    out.total_dots += dots.size();
    if (dots.empty()) ++out.empty_entries;
  }
  return out;
}

template <class K, class C>
gc_info info(const ormap<K, C>& map) {
  gc_info out;
  out.entry_count = map.stored_values().size();
  out.empty_entries = out.entry_count - map.size();
  for (const auto& [key, dots] : map.key_kernel().entries()) out.total_dots += dots.size();
  return out;
}

/// Whether a collection would remove more than `threshold` entries.
template <class T>
bool needs_gc(const T& x, std::size_t threshold = 0) {
  return info(x).empty_entries > threshold;
}

template <class E>
gc_stats collect(basic_dot_set<E>& set) {
  return gc_stats{0, set.size()};
}

}  // namespace grove::crdt
