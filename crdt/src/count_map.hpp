// Maps from replica id to a count (gcounter, vector_clock) in the payload: (id, count) pairs in
// ascending id order, no zero count.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"

namespace grove::crdt::detail {

using count_map = std::map<replica_id, std::uint64_t>;

inline void write_counts(byte_writer& w, const count_map& counts) {
  w.varint(counts.size());
  for (const auto& [actor, count] : counts) {
    w.str(actor);
    w.varint(count);
  }
}

/// Reads what write_counts wrote and checks its canonical form; `what` names the map in errors.
inline bool read_counts(byte_reader& r, count_map& counts, const char* what) {
  counts.clear();
  std::uint64_t n = 0;
  if (!r.count(n, 2)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    replica_id actor;
    std::uint64_t count = 0;
    if (!r.str(actor) || !r.varint(count)) return false;
    if (count == 0) return r.fail(std::string("a zero entry in ") + what);
    if (!counts.empty() && !(counts.rbegin()->first < actor))
      return r.fail(std::string("entries of ") + what + " are not in ascending order");
    counts.emplace_hint(counts.end(), std::move(actor), count);
  }
  return true;
}

}  // namespace grove::crdt::detail
