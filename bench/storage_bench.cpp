// Storage backends by direct call (architecture §7): the in-memory backend, the on-disk backend in
// write-behind and durable mode, reopen + list + load of every group, a 40 MiB durable save, and
// the disk's own fsync rate to read the durable figures against.
#include <chrono>
#include <filesystem>

#include <unistd.h>

#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/disk_probe.hpp"
#include "support/fixtures.hpp"
#include "support/json_lines.hpp"
#include "support/scale.hpp"

using namespace grove::storage;
using grove::bench::counter_state;
using grove::bench::group_count;
using grove::bench::groups;

namespace {

using grove::bench::fresh_file;
using grove::bench::remove_store;
using grove::bench::scaled;

void ets_save(benchmark::State& state) {
  destroy_ets("bench");
  ets_options opts;
  opts.table = "bench";
  auto b = std::move(*open_ets(opts));
  std::size_t i = 0;
  for (auto _ : state) {
    if (!b->save(groups()[i++ % group_count], counter_state())) state.SkipWithError("save failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ets_save)->Iterations(scaled(1'000'000));

void ets_load(benchmark::State& state) {
  destroy_ets("bench");
  ets_options opts;
  opts.table = "bench";
  auto b = std::move(*open_ets(opts));
  for (const auto& g : groups()) (void)b->save(g, counter_state());
  std::size_t i = 0;
  for (auto _ : state) {
    auto v = b->load(groups()[i++ % group_count]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ets_load)->Iterations(scaled(1'000'000));

// Write-behind, sustained: 100,000 saves over the 10,000 groups and the sync() that puts the
// last of them on disk, timed together (the auto_save flushes in between run on their own thread
// and count too, since they take the same write lock).
void dets_write_behind_save(benchmark::State& state) {
  auto path = fresh_file("wb.grove");
  dets_options opts;
  opts.file = path;
  opts.auto_save = std::chrono::milliseconds(100);
  auto b = std::move(*open_dets(opts));
  const auto saves = static_cast<std::size_t>(scaled(100'000));
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < saves; ++i)
      if (!b->save(groups()[i % group_count], counter_state())) state.SkipWithError("save failed");
    if (!b->sync()) state.SkipWithError("sync failed");
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * saves));
  (void)b->close();
  state.counters["file_bytes"] = static_cast<double>(std::filesystem::file_size(path));
  remove_store(path);
}
BENCHMARK(dets_write_behind_save)->Iterations(5)->Unit(benchmark::kMillisecond)->UseManualTime();

// Durable: each save is on disk when it returns (one synced LMDB transaction).
void dets_durable_save(benchmark::State& state) {
  auto path = fresh_file("durable.grove");
  dets_options opts;
  opts.file = path;
  opts.durable = true;
  auto b = std::move(*open_dets(opts));
  std::size_t i = 0;
  for (auto _ : state) {
    if (!b->save(groups()[i++ % group_count], counter_state())) state.SkipWithError("save failed");
  }
  state.SetItemsProcessed(state.iterations());
  b.reset();
  remove_store(path);
}
BENCHMARK(dets_durable_save)->Iterations(scaled(2'000))->Unit(benchmark::kMicrosecond)->UseRealTime();

// Reopen a store of 10,000 groups, list them, and load every one.
void dets_reopen_list_load_all(benchmark::State& state) {
  auto path = fresh_file("reopen.grove");
  dets_options opts;
  opts.file = path;
  {
    auto b = std::move(*open_dets(opts));
    std::vector<group_value> all;
    for (const auto& g : groups()) all.push_back({g, counter_state()});
    (void)b->save_batch(all);
  }
  for (auto _ : state) {
    auto b = std::move(*open_dets(opts));
    auto listed = b->list_groups();
    std::size_t loaded = 0;
    for (const auto& g : *listed)
      if (auto v = b->load(g); v && v->has_value()) ++loaded;
    if (loaded != static_cast<std::size_t>(group_count)) state.SkipWithError("groups missing");
  }
  state.counters["groups"] = group_count;
  state.counters["file_bytes"] = static_cast<double>(std::filesystem::file_size(path));
  remove_store(path);
}
BENCHMARK(dets_reopen_list_load_all)->Unit(benchmark::kMillisecond)->UseRealTime();

// One 40 MiB state saved durably.
void dets_durable_save_40mb(benchmark::State& state) {
  auto path = fresh_file("big.grove");
  dets_options opts;
  opts.file = path;
  opts.durable = true;
  opts.max_value_size = std::size_t{64} << 20;
  auto b = std::move(*open_dets(opts));
  grove::bytes big(static_cast<std::size_t>(scaled(std::int64_t{40} << 20)), 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  int n = 0;
  for (auto _ : state) {
    if (!b->save(group_key{"blob", "big-" + std::to_string(n++ % 2)}, big)) state.SkipWithError("save failed");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(big.size()));
  b.reset();
  remove_store(path);
}
BENCHMARK(dets_durable_save_40mb)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

using grove::bench::disk_fdatasync_4k;
BENCHMARK(disk_fdatasync_4k)->Iterations(scaled(2'000))->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return grove::bench::run_benchmarks(argc, argv); }
