// CRDT and codec benchmarks: orset merges (two 100k-element states; a small delta into a
// 100k-element state), and encode/decode of a large orset (MB/s of encoded bytes, encoded size),
// plain and with zstd at several levels.
#include <chrono>
#include <string>
#include <vector>

#include "grove/crdt/all.hpp"
#include "support/json_lines.hpp"
#include "support/scale.hpp"

using namespace grove::crdt;
using grove::bench::scaled;

namespace {

orset<std::string> make_set(const std::string& owner, int first, int count) {
  orset<std::string> s(owner);
  for (int i = first; i < first + count; ++i) s.add("e" + std::to_string(i));
  return s;
}

const orset<std::string>& million_set() {
  static const auto s = make_set("replica-a", 0, static_cast<int>(scaled(1'000'000)));
  return s;
}

// Two replicas of 100,000 elements each, half of them shared: b saw the first 50,000 of a's adds
// (the same dots) and made 50,000 adds of its own; a merges b (result: 150,000 elements).
void orset_merge_100k(benchmark::State& state) {
  const auto each = static_cast<int>(scaled(100'000)), half = each / 2;
  auto a = make_set("replica-a", 0, each);
  auto b = make_set("replica-b", each, half);
  b.merge(make_set("replica-a", 0, half));
  if (a.size() != static_cast<std::size_t>(each) || b.size() != static_cast<std::size_t>(half + half))
    state.SkipWithError("the replicas are not 100,000 each");
  for (auto _ : state) {
    auto target = a;
    auto start = std::chrono::steady_clock::now();
    target.merge(b);
    auto stop = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(target);
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  auto result = a;
  result.merge(b);
  if (result.size() != static_cast<std::size_t>(each + half)) state.SkipWithError("the merge is not 150,000 elements");
  state.counters["elements_each"] = each;
  state.counters["shared"] = half;
}
BENCHMARK(orset_merge_100k)->UseManualTime()->Unit(benchmark::kMillisecond);

// A replica of 100,000 elements merges a stream of deltas from a peer that has seen all of them,
// each of 10 adds of new elements and 10 removes of existing ones, one delta per iteration (the
// replica stays at 100,000 elements). The merge walks the whole state (dot_kernel.hpp), so this is
// what a delta costs next to merging a full state.
void orset_merge_delta_into_100k(benchmark::State& state) {
  constexpr int deltas = 2'000;
  auto target = make_set("replica-a", 0, 100'000);
  orset<std::string> peer("replica-b");
  peer.merge(target);
  std::vector<orset<std::string>> stream;
  for (int d = 0; d < deltas; ++d) {
    peer.reset_delta();
    for (int i = 0; i < 10; ++i) peer.add("new" + std::to_string(d * 10 + i));
    for (int i = 0; i < 10; ++i) peer.remove("e" + std::to_string(d * 10 + i));
    stream.push_back(peer.delta());
  }
  std::size_t next = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    target.merge(stream[next++]);
    auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  if (target.size() != 100'000 || target.contains("e0") || !target.contains("new0"))
    state.SkipWithError("the merges did not apply the deltas");
  state.counters["elements"] = 100'000;
  state.counters["changes_per_delta"] = 20;
}
BENCHMARK(orset_merge_delta_into_100k)->UseManualTime()->Iterations(2'000)->Unit(benchmark::kMicrosecond);

codec_options options_for(int level) {
  codec_options opts;
  opts.compress = level != 0;
  opts.compression_level = level;
  return opts;
}

// Arg: zstd level, 0 = no compression. bytes_per_second counts the plain payload (the input).
void orset_encode_1m(benchmark::State& state) {
  const auto& s = million_set();
  auto opts = options_for(static_cast<int>(state.range(0)));
  auto plain = encode(s, options_for(0)).size();
  std::size_t size = 0;
  for (auto _ : state) {
    auto bytes = encode(s, opts);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain));
  state.counters["encoded_bytes"] = static_cast<double>(size);
  state.counters["plain_bytes"] = static_cast<double>(plain);
  state.counters["zstd_level"] = static_cast<double>(state.range(0));
}
BENCHMARK(orset_encode_1m)->Arg(0)->Arg(-1)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

void orset_decode_1m(benchmark::State& state) {
  auto opts = options_for(static_cast<int>(state.range(0)));
  auto bytes = encode(million_set(), opts);
  auto plain = encode(million_set(), options_for(0)).size();
  for (auto _ : state) {
    auto back = decode<orset<std::string>>(bytes);
    if (!back) state.SkipWithError(back.error().to_string().c_str());
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain));
  state.counters["encoded_bytes"] = static_cast<double>(bytes.size());
  state.counters["zstd_level"] = static_cast<double>(state.range(0));
}
BENCHMARK(orset_decode_1m)->Arg(0)->Arg(-1)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) { return grove::bench::run_benchmarks(argc, argv); }
