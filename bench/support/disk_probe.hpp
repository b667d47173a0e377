// The disk's own limit, to read durable figures against: pwrite 4 KiB + fdatasync. Each benchmark
// program with durable figures registers it, so the rate comes from the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include "support/fixtures.hpp"

namespace grove::bench {

inline void disk_fdatasync_4k(benchmark::State& state) {
  auto path = fresh_file("fsync.probe");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  char page[4096] = {1};
  for (auto _ : state) {
    if (::pwrite(fd, page, sizeof page, 0) != sizeof page || ::fdatasync(fd) != 0) state.SkipWithError("fsync failed");
  }
  ::close(fd);
  std::filesystem::remove(path);
  state.SetItemsProcessed(state.iterations());
}

}  // namespace grove::bench
