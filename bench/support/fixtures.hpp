// Shared workload of the storage benchmarks (architecture §7): 10,000 groups, each holding a
// GCounter-sized state (a gcounter with 8 replicas).
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "grove/crdt/all.hpp"
#include "grove/storage/group_key.hpp"

namespace grove::bench {

constexpr int group_count = 10'000;

inline const std::vector<storage::group_key>& groups() {
  static const auto all = [] {
    std::vector<storage::group_key> out;
    for (int i = 0; i < group_count; ++i) out.push_back({"counter", "group-" + std::to_string(i)});
    return out;
  }();
  return all;
}

/// The encoded state of a gcounter with 8 replicas.
inline const bytes& counter_state() {
  static const bytes state = [] {
    crdt::gcounter total("replica-0");
    for (int r = 0; r < 8; ++r) {
      crdt::gcounter c("replica-" + std::to_string(r));
      (void)c.increment(1000 + r);  // far below the limit
      total.merge(c);
    }
    return crdt::encode(total);
  }();
  return state;
}

/// A scratch directory for store files: $GROVE_BENCH_DIR, else $TMPDIR, else /tmp.
inline std::string scratch_dir() {
  for (const char* var : {"GROVE_BENCH_DIR", "TMPDIR"})
    if (const char* v = std::getenv(var)) return v;
  return "/tmp";
}

}  // namespace grove::bench
