// Shared workload of the storage benchmarks (architecture §7): 10,000 groups, each holding a
// GCounter-sized state (a gcounter with 8 replicas).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

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

/// A path for a store file in scratch_dir() that no other run uses, with nothing there yet.
inline std::string fresh_file(const std::string& name) {
  auto path = scratch_dir() + "/grove-bench-" + std::to_string(::getpid()) + "-" + name;
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-lock");
  return path;
}

/// Removes a store file and its lock file.
inline void remove_store(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-lock");
}

}  // namespace grove::bench
